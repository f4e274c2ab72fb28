# Install AIPROD Studio for the current user from its wheel: a virtual environment in -Prefix, the PyTorch
# 2.13.0 build that suits the GPU found (nvidia-smi's CUDA version; the CPU build without an NVIDIA GPU), the
# studio's wheel, a Start-menu shortcut and an uninstaller that asks before deleting models and data.
# UNTESTED: written to the same plan as installers/linux/install.sh (which is tested) but never run yet.
#
#   powershell -ExecutionPolicy Bypass -File installers\windows\install.ps1 `
#       [-Prefix <folder>] [-Wheel <aiprod_studio-*.whl>] [-Cpu] [-DryRun] [-TorchIndexUrl <url>]
[CmdletBinding()]
param(
    [string]$Prefix = (Join-Path $env:LOCALAPPDATA "AIPROD Studio"),
    [string]$Wheel = "",
    [switch]$Cpu,
    [switch]$DryRun,
    [string]$TorchIndexUrl = $env:TORCH_INDEX_URL,
    [string]$Python = ""
)

$ErrorActionPreference = "Stop"
$TorchSpec = "torch==2.13.0"
$TorchIndex = "https://download.pytorch.org/whl"
# PyTorch's CUDA builds, newest first: the CUDA version the driver must support, and the index tag.
$CudaBuilds = @(@("13.0", "cu130"), @("12.6", "cu126"))  # PyTorch 2.13's stable CUDA builds

function Say([string]$Message) { Write-Host "aiprod-studio install: $Message" }

function Invoke-Step([string]$Exe, [string[]]$Arguments) {
    Write-Host "+ $Exe $($Arguments -join ' ')"
    if ($DryRun) { return }
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Exe $($Arguments -join ' ')' failed with exit code $LASTEXITCODE" }
}

# Python 3.11 or 3.12: -Python, else the py launcher (3.11 first), else python on PATH.
$Supported = "import sys; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))"
if (-not $Python -and (Get-Command py -ErrorAction SilentlyContinue)) {
    foreach ($Version in "3.11", "3.12") {
        $Found = (& py "-$Version" -c "import sys; print(sys.executable)" 2>$null)
        if ($LASTEXITCODE -eq 0 -and $Found) { $Python = $Found.Trim(); break }
    }
}
if (-not $Python -and (Get-Command python -ErrorAction SilentlyContinue)) { $Python = (Get-Command python).Source }
if (-not $Python) { throw "Python 3.11 or 3.12 not found; install one from python.org or pass -Python <path>" }
& $Python -c $Supported
if ($LASTEXITCODE -ne 0) { throw "$Python is not Python 3.11 or 3.12" }

# PyTorch build from the GPU.
$TorchUrl = "$TorchIndex/cpu"
$Why = "the CPU build (no NVIDIA GPU found: nvidia-smi is not installed)"
if ($TorchIndexUrl) {
    $TorchUrl = $TorchIndexUrl; $Why = "the index given in -TorchIndexUrl"
} elseif ($Cpu) {
    $Why = "the CPU build (-Cpu)"
} elseif (Get-Command nvidia-smi -ErrorAction SilentlyContinue) {
    $Smi = (& nvidia-smi 2>&1) -join "`n"
    if ($LASTEXITCODE -ne 0) {
        $Why = "the CPU build (nvidia-smi failed; is the NVIDIA driver installed?)"
    } elseif ($Smi -match "CUDA Version:\s*(\d+)\.(\d+)") {
        $Cuda = [version]"$($Matches[1]).$($Matches[2])"
        $Why = "the CPU build (the driver supports CUDA $Cuda, older than PyTorch's CUDA builds; update the NVIDIA driver)"
        foreach ($Build in $CudaBuilds) {
            if ($Cuda -ge [version]$Build[0]) {
                $TorchUrl = "$TorchIndex/$($Build[1])"; $Why = "the CUDA $($Build[0]) build (driver supports CUDA $Cuda)"; break
            }
        }
    }
}
Say "PyTorch: $Why"

# The wheel: -Wheel, else one beside this script, else built from the source tree around it.
if (-not $Wheel) {
    $Beside = Get-ChildItem -Path $PSScriptRoot -Filter "aiprod_studio-*.whl" -ErrorAction SilentlyContinue | Select-Object -Last 1
    if ($Beside) { $Wheel = $Beside.FullName }
}
if (-not $Wheel) {
    $Source = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
    if (-not (Test-Path (Join-Path $Source "setup.py"))) { throw "no wheel: pass -Wheel, or run this from a source tree" }
    $Dist = Join-Path $env:TEMP "aiprod-wheel"
    Invoke-Step $Python @("-m", "pip", "wheel", "--no-deps", "-w", $Dist, $Source)
    $Wheel = (Get-ChildItem -Path $Dist -Filter "aiprod_studio-*.whl" -ErrorAction SilentlyContinue | Select-Object -Last 1).FullName
}

$Venv = Join-Path $Prefix "venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (-not (Test-Path $VenvPython)) { Invoke-Step $Python @("-m", "venv", $Venv) }
$Pip = @("-m", "pip", "install", "--disable-pip-version-check")
Invoke-Step $VenvPython ($Pip + @("--index-url", $TorchUrl, $TorchSpec))
Invoke-Step $VenvPython ($Pip + @("--upgrade", $Wheel))
if ($DryRun) { Say "dry run: nothing was changed"; exit 0 }

$Exe = Join-Path $Venv "Scripts\aiprod-studio.exe"
$Programs = [Environment]::GetFolderPath("Programs")
$Link = Join-Path $Programs "AIPROD Studio.lnk"
$Shortcut = (New-Object -ComObject WScript.Shell).CreateShortcut($Link)
$Shortcut.TargetPath = $Exe
$Shortcut.WorkingDirectory = $Prefix
$Shortcut.Description = "Local AI video generation, editing, grading and delivery"
$Shortcut.Save()

# The uninstaller asks the studio where its models and data are, and deletes them only on "y".
$Uninstall = @"
`$ErrorActionPreference = "Stop"
`$Lines = & "$VenvPython" -m app.model_store.folder
`$Data = & "$VenvPython" -c "from app.project.paths import data_root; print(data_root())"
if (`$Lines.Count -ge 2 -and (Test-Path `$Lines[0])) {
    if (`$Lines[1] -eq "owned") {
        if ((Read-Host "Delete the model weights in `$(`$Lines[0])? [y/N]") -match "^[Yy]") { Remove-Item -Recurse -Force `$Lines[0] }
    } elseif (`$Lines.Count -gt 2) {
        if ((Read-Host "Delete the model files the studio downloaded into `$(`$Lines[0]) (the rest stays)? [y/N]") -match "^[Yy]") {
            `$Lines[2..(`$Lines.Count - 1)] | ForEach-Object { Remove-Item -Recurse -Force `$_ -ErrorAction SilentlyContinue }
        }
    }
}
if (`$Data -and (Test-Path `$Data)) {
    if ((Read-Host "Delete the studio's data in `$Data (recovery files, media of never-saved projects)? [y/N]") -match "^[Yy]") {
        Get-ChildItem `$Data | Where-Object { -not (`$Lines[0] -and `$Lines[0].StartsWith(`$_.FullName)) } | Remove-Item -Recurse -Force
    }
}
Remove-Item -Force "$Link" -ErrorAction SilentlyContinue
Remove-Item -Recurse -Force "$Venv"
Write-Host "AIPROD Studio removed; projects you saved (*.aiprod folders) are where you left them"
"@
Set-Content -Path (Join-Path $Prefix "uninstall.ps1") -Value $Uninstall

Say "done: start AIPROD Studio from the Start menu, or run $Exe"
Say "first run: the studio's model manager offers the model downloads; '$Exe --check' says what it sees"
Say "to remove it: powershell -ExecutionPolicy Bypass -File `"$(Join-Path $Prefix 'uninstall.ps1')`""
