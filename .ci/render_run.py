#!/usr/bin/env python3
"""Render-and-run test of the Helm chart: the rendered pods, started with Docker.

usage: render_run.py [--image todo:ci] [--mode postgres|sqlite|both] [--dry-run]
       (--dry-run prints the docker run command of every rendered pod and starts nothing)

No Kubernetes cluster can run on the CI machine, so this does what the cluster would do with
the chart's output: `helm template` for database.mode=postgres (values.yaml as it is) and
database.mode=sqlite, then every rendered StatefulSet, hook Job, Deployment and `helm test`
Pod is started with `docker run --network host --pull never` using exactly its rendered spec
(the one deviation: the pods share the host's network, each on its own port, behind a
Service proxy on 127.0.0.1), and the acceptance checks run against them. A pod field the
translation does not know stops the run, so this test cannot silently drift away from the
chart.

The parts, in .ci/render/ (each module's docstring has the details and decisions; see also
docs/DEPLOYMENT.md, "Render and run"):
  translate.py   helm template, and each rendered pod template translated into `docker run`
                 arguments (security, resources, volumes, environment)
  cluster.py     the cluster emulator: pods started with Docker and probed like the kubelet
                 does, Jobs, volumes, the Service proxy (a kube-proxy on 127.0.0.1), clean-up
  acceptance.py  the acceptance checks: start order, hardening, `helm test`, data kept across
                 deleted pods, the rollout under a steady stream of requests
This file parses the command line and runs each mode: render, start, check, clean up.

Prints one `ok N - ...` / `not ok N - ...` line per check (the caller counts them), each
step's duration, the pods' start-to-ready times, and the logs of the pods when a check
fails. Everything it starts is named todo-rr-* (containers and volumes, labelled todo-rr)
and removed at the end, after a failure too. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# compose_e2e and the render package sit beside this file, whatever the current directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from compose_e2e import CHECKS, Step, check  # noqa: E402
from render.acceptance import acceptance, start_everything  # noqa: E402
from render.cluster import Cluster, cleanup, log, print_logs, service_ports_free, services, start_service_proxy  # noqa: E402
from render.translate import PREFIX, Rendered, SpecError, render  # noqa: E402


def run_mode(mode: str, image: str) -> None:
    log(f"=== render and run: database.mode={mode}")
    start = time.monotonic()
    with Step(f"helm template ({mode}) and translate"):
        rendered = Rendered(render(mode, image))
        cluster = Cluster(mode, rendered)
        services().configure(rendered)
        log(f"  {len(rendered.objects)} objects; pods from {', '.join(template.owner for template in cluster.templates.values())}; "
            f"Services on 127.0.0.1: {', '.join(f'{lst.service}:{lst.port}' for lst in services().listeners)}")
    taken = service_ports_free(rendered)
    if taken:
        check("the rendered Service ports are free on 127.0.0.1", False, "; ".join(taken))
        return
    try:
        if start_everything(cluster):
            acceptance(cluster)
    except Exception as error:  # one failed check with the pods' logs, then clean up
        check(f"render and run ({mode}) completes", False, f"{type(error).__name__}: {error}")
    finally:
        if CHECKS["failed"]:
            print_logs([pod.docker_name for pod in cluster.pods])
        with Step(f"clean up ({mode})"):
            for pod in cluster.pods:
                pod.stopped.set()
            services().reset()
            cleanup()
    log(f"=== render and run ({mode}): {time.monotonic() - start:.1f} s")


def print_translation(mode: str, image: str) -> None:
    cluster = Cluster(mode, Rendered(render(mode, image)))
    for name, template in cluster.templates.items():
        container = template.containers[0]
        argv, _ = container.docker_run(f"{PREFIX}-{name}-N", 0 if container.container_port else None, {})
        hosts = sum(1 for flag in argv if flag == "--add-host")
        argv = [word for index, word in enumerate(argv) if word != "--add-host" and (index == 0 or argv[index - 1] != "--add-host")]
        log(f"# {mode}: {template.owner} (+ {hosts} --add-host NAME:127.0.0.1; the pod's port goes in the port variable)\n  {' '.join(argv)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="todo:ci", help="the image under test (repository:tag)")
    parser.add_argument("--mode", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--dry-run", action="store_true", help="print the translation, start nothing")
    arguments = parser.parse_args()
    os.chdir(Path(__file__).resolve().parent.parent)
    modes = ["postgres", "sqlite"] if arguments.mode == "both" else [arguments.mode]
    if arguments.dry_run:
        for mode in modes:
            print_translation(mode, arguments.image)
        return 0
    start_service_proxy()
    cleanup()
    try:
        for mode in modes:
            run_mode(mode, arguments.image)
    except SpecError as error:
        check("every rendered pod field is modelled by the translation", False, str(error))
    finally:
        cleanup()
    log(f"render and run: {CHECKS['passed']} checks passed, {CHECKS['failed']} failed")
    return 0 if CHECKS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
