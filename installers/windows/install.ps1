# Install AIPROD Studio for the current user: a virtual environment in -Prefix, PyTorch 2.13.0 (CUDA build
# when -TorchIndexUrl names PyTorch's CUDA wheel index), the studio itself, and a Start-menu shortcut.
# UNTESTED: written to the same plan as installers/linux/install.sh but never run yet (see README.md).
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\install.ps1 `
#       [-Prefix <folder>] [-TorchIndexUrl <PyTorch's CUDA wheel index for your CUDA version>]
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "AIPROD Studio"),
    [string]$TorchIndexUrl = $env:TORCH_INDEX_URL,
    [string]$Python = ""
)

$ErrorActionPreference = "Stop"
$TorchSpec = "torch==2.13.0"
$Source = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path

function Say([string]$Message) { Write-Host "aiprod-studio install: $Message" }

function Invoke-Checked([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Exe $($Arguments -join ' ')' failed with exit code $LASTEXITCODE" }
}

# Python 3.11: an explicit -Python, else the py launcher, else python on PATH.
if (-not $Python) {
    if (Get-Command py -ErrorAction SilentlyContinue) {
        $Python = (& py -3.11 -c "import sys; print(sys.executable)").Trim()
    } elseif (Get-Command python -ErrorAction SilentlyContinue) {
        $Python = (Get-Command python).Source
    }
}
if (-not $Python) { throw "Python 3.11 not found; install it from python.org or pass -Python <path>" }
& $Python -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))"
if ($LASTEXITCODE -ne 0) { throw "$Python is not Python 3.11" }
if (-not (Test-Path (Join-Path $Source "pyproject.toml"))) { throw "run this script from an AIPROD Studio source tree" }

New-Item -ItemType Directory -Force -Path $Prefix | Out-Null

# The studio reads resources\ and luts\ from beside its packages, so the tree is copied whole and
# installed in editable mode. A re-run replaces the copy (an update) and keeps the environment.
Say "copying the application to $Prefix\src"
$Src = Join-Path $Prefix "src"
$SrcNew = Join-Path $Prefix "src.new"
if (Test-Path $SrcNew) { Remove-Item -Recurse -Force $SrcNew }
New-Item -ItemType Directory -Path $SrcNew | Out-Null
foreach ($Item in "app", "engine", "ui", "resources", "luts", "pyproject.toml", "README.md", "NOTICE") {
    Copy-Item -Recurse -Path (Join-Path $Source $Item) -Destination $SrcNew
}
Get-ChildItem -Path $SrcNew -Recurse -Directory -Filter "__pycache__" | Remove-Item -Recurse -Force
if (Test-Path $Src) { Remove-Item -Recurse -Force $Src }
Move-Item $SrcNew $Src

$Venv = Join-Path $Prefix "venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $VenvPython)) {
    Say "creating a virtual environment in $Venv"
    Invoke-Checked $Python @("-m", "venv", $Venv)
}
$Pip = @("-m", "pip", "install", "--disable-pip-version-check")

# torch first and alone, so that its CUDA build can come from its own index; the studio's pin
# (torch==2.13.0) is then already satisfied and pip leaves it alone.
if ($TorchIndexUrl) {
    Say "installing $TorchSpec from $TorchIndexUrl"
    Invoke-Checked $VenvPython ($Pip + @("--index-url", $TorchIndexUrl, $TorchSpec))
} else {
    Say "installing $TorchSpec (CPU build; pass -TorchIndexUrl for CUDA)"
    Invoke-Checked $VenvPython ($Pip + @($TorchSpec))
}

Say "installing AIPROD Studio"
Invoke-Checked $VenvPython ($Pip + @("-e", $Src))

$Exe = Join-Path $Venv "Scripts\aiprod-studio.exe"
$Programs = [Environment]::GetFolderPath("Programs")
$Shortcut = (New-Object -ComObject WScript.Shell).CreateShortcut((Join-Path $Programs "AIPROD Studio.lnk"))
$Shortcut.TargetPath = $Exe
$Shortcut.WorkingDirectory = $Prefix
$Shortcut.Description = "Local AI video generation, editing, grading and delivery"
$Shortcut.Save()

Say "done: start AIPROD Studio from the Start menu, or run $Exe"
Say "model weights are not included; see $Src\README.md, 'Model weights'"
