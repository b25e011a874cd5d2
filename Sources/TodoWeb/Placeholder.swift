// The web UI server (work in progress).
