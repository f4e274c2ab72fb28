"""Render nodes: the studio's engine-lane jobs and exports on a Ray cluster of the studio's own machines.

Qt-free core (used by the CLI's ``farm`` commands and by the studio):

* :mod:`app.cluster.config` -- which cluster (Settings or ``AIPROD_RAY_ADDRESS``), actor resources;
* :mod:`app.cluster.travel` -- the media a job needs, packed as bytes to travel with it;
* :mod:`app.cluster.host` -- :class:`~app.cluster.host.EngineHost`, the long-lived actor on a node that
  keeps an engine loaded and runs a job kind's runner (app.jobs.kinds) unchanged;
* :mod:`app.cluster.farm` -- :class:`~app.cluster.farm.Farm`, the dispatcher on this machine: one actor per
  GPU, jobs go to actors that already have their model loaded, a job whose actor dies is retried;
* :mod:`app.cluster.landing` -- a finished job's files written into the project (an export's at its
  destination), atomically, once;
* :mod:`app.cluster.shots` -- the shot list of ``aiprod-cli farm submit``.

The Qt adapter (:mod:`app.cluster.qt`) plugs the farm into the job queue as the engine lane's worker.
"""
