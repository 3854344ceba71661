# python-evtx 0.8.x: only `Evtx.Evtx`, used to measure it against pyevtx-rs (see typings/README.md).
