"""The render-and-run test of the Helm chart, in parts; .ci/render_run.py runs it."""
