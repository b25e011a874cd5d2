#!/usr/bin/env bash
# Kubernetes checks of the Helm chart, the plain manifests and the deployment scripts.
# No cluster runs here, so this proves what can be proved statically:
#   - helm lint --strict and helm template for every values file, SQLite mode and the optional features
#   - every rendered object valid for the oldest and newest supported Kubernetes (kubernetes-validate
#     --strict; a missing schema, i.e. a removed or unknown API, fails too)
#   - checkov policies with no failed check (the skipped checks are listed below with the reason)
#   - the schema rejects wrong values with a clear message
#   - NetworkPolicies allow exactly the flows of the architecture (.ci/netpol_flows.py): without an
#     LLM the backend gets no egress to any address range but the external database's; with one,
#     only to networkPolicy.llmEgress.ipBlocks on the LLM URL's port; webhook deliveries only with
#     webhooks.enabled, only to networkPolicy.webhookEgress.ipBlocks on its ports; Web Push only with
#     push.enabled, only to networkPolicy.pushEgress.ipBlocks on its ports, with the VAPID key from a Secret
#   - the chart's promises per environment (.ci/chart_facts.py)
#   - the PrometheusRule's alerts: promtool check rules, and promtool test rules with
#     tests/prometheus/alerts.test.yml (each alert fires on a failure, stays silent when healthy)
#   - yamllint, a comment on every value, shellcheck, the scripts' --help/--dry-run
#   - k8s/ is what scripts/render-manifests.sh renders from the chart
#
# Usage: .ci/k8s-checks.sh [--help]   (from the repository root; installs its tools:
#        ../shared/ci-env/k8s-tools, shellcheck and prometheus from apt). Ends with "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

CHART=helm/todo-app
RELEASE=todo
NAMESPACE=todo
OLDEST_KUBERNETES=1.30.0            # Chart.yaml kubeVersion: >=1.30.0-0
# checkov checks skipped for the whole chart, with the reason:
#   CKV_K8S_15 "Image Pull Policy should be Always": Minikube/Kind run images loaded with
#              scripts/load-*.sh, which Always would try to pull; staging/production pin tags
#              or digests (image.digest), so IfNotPresent cannot run a stale image.
#   CKV_K8S_35 "Prefer secrets as files": the application is configured by environment
#              variables (12-factor); secrets come from secretKeyRef, never from the spec.
#   CKV_K8S_43 "Image should use digest": locally built development images have no registry
#              digest; production sets image.digest (values-production.yaml says so).
# Per-object skips are annotations in the templates (checkov.io/skipN), e.g. the PostgreSQL
# UID 999 of the postgres image (CKV_K8S_40) and the probes of one-shot test pods.
CHECKOV_SKIPS=CKV_K8S_15,CKV_K8S_35,CKV_K8S_43
# Custom resources kubernetes-validate has no schema for (everything else must have one).
KNOWN_CRDS='ServiceMonitor|PrometheusRule'

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PASSED=0
FAILED=0
FAILED_NAMES=()
STAGE_START=$SECONDS

now() { echo "${EPOCHREALTIME/[.,]/}"; }          # microseconds
took() { local us=$(( $(now) - $1 )); printf '%d.%01ds' $((us / 1000000)) $(( (us / 100000) % 10 )); }

# check NAME CMD...: run one check, print ok/FAIL with its duration and, on failure, its output.
check() {
  local name=$1 start rc=0
  shift
  start=$(now)
  "$@" >"$WORK/out" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    PASSED=$((PASSED + 1))
    printf 'ok    %-66s %6s\n' "$name" "$(took "$start")"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    printf 'FAIL  %-66s %6s\n' "$name" "$(took "$start")"
    tail -40 "$WORK/out" | sed 's/^/      | /'
  fi
}

# setup NAME CMD...: a step that must work for the checks to mean anything.
setup() {
  local name=$1 start
  shift
  start=$(now)
  if ! "$@" >"$WORK/out" 2>&1; then
    cat "$WORK/out" >&2
    echo "k8s-checks: setup step '$name' failed" >&2
    exit 1
  fi
  printf 'setup %-66s %6s\n' "$name" "$(took "$start")"
}

# apt_install COMMAND PACKAGE: install Debian's PACKAGE unless COMMAND is already there
apt_install() {
  command -v "$1" >/dev/null && return 0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2"; }
}

echo "== setup"
setup "k8s-tools (helm, kubernetes-validate, checkov, yamllint)" bash ../shared/ci-env/k8s-tools
setup "shellcheck (apt)" apt_install shellcheck shellcheck
setup "promtool (apt: prometheus)" apt_install promtool prometheus
PYTHON=python3
if ! python3 -c 'import yaml' 2>/dev/null; then PYTHON=/usr/local/lib/ci-env/venv/bin/python; fi
NEWEST_KUBERNETES=$(kubernetes-validate --help | sed -n 's/.*Defaults to \([0-9.]*\).*/\1/p' | head -1)
[ -n "$NEWEST_KUBERNETES" ] || { echo "k8s-checks: cannot find kubernetes-validate's newest version" >&2; exit 1; }
echo "      Kubernetes $OLDEST_KUBERNETES .. $NEWEST_KUBERNETES, $(helm version --template '{{.Version}}'), python $($PYTHON -c 'import sys; print(sys.version.split()[0])')"

# ---------------------------------------------------------------------------------------------
# Renders: name -> helm arguments (values.yaml is always first; the chart's own defaults).
# llm-key: only an API key, so the backend calls OpenAI (https, 443) and the default ranges apply;
# llm-narrow: production with a provider URL on port 8443 and one range given in a values file;
# llm-no-ranges: a model in the cluster and ipBlocks [], so no address range at all.
cat >"$WORK/llm-narrow.yaml" <<'YAML'
config:
  llm:
    baseUrl: https://llm.example.com:8443/v1
networkPolicy:
  llmEgress:
    ipBlocks:
      - cidr: 203.0.113.0/24
YAML
cat >"$WORK/llm-no-ranges.yaml" <<'YAML'
config:
  llm:
    baseUrl: http://ollama.ai.svc.cluster.local:11434/v1
networkPolicy:
  llmEgress:
    ipBlocks: []
YAML
# oidc: production with single sign-on only (password log-in off), its egress on the issuer's port 443.
cat >"$WORK/oidc.yaml" <<'YAML'
config:
  oidc:
    issuer: https://id.example.com/realms/todo
    clientId: todo
    name: Example ID
  passwordLogin: false
YAML
# mail: reset mails through one relay on 587, its URL in the chart-made Secret.
cat >"$WORK/mail.yaml" <<'YAML'
mail:
  enabled: true
  from: Todo <todo@example.com>
  webUrl: https://todo.example
  egress:
    ipBlocks:
      - cidr: 198.51.100.25/32
secret:
  smtpUrl: smtp://mailer:secret@mail.example.com:587
YAML
# webhooks: deliveries on with the default ranges and ports (public IPv4 on 443 and 80), and a private
# receiver range the address policy allows (WEBHOOK_ALLOWED_NETWORKS, on the backend only);
# webhooks-narrow: production with the receivers narrowed to one range and one port;
# webhooks-private: docs/OPERATIONS.md's receiver in the own network (10.20.0.0/16) besides the public ranges.
cat >"$WORK/webhooks.yaml" <<'YAML'
webhooks:
  enabled: true
  allowedNetworks:
    - 10.20.0.0/16
    - fd12:3456::/48
YAML
cat >"$WORK/webhooks-narrow.yaml" <<'YAML'
webhooks:
  enabled: true
networkPolicy:
  webhookEgress:
    ipBlocks:
      - cidr: 203.0.113.0/24
    ports:
      - 8443
YAML
cat >"$WORK/webhooks-private.yaml" <<'YAML'
webhooks:
  enabled: true
  allowedNetworks: [10.20.0.0/16]
networkPolicy:
  webhookEgress:
    ipBlocks:
      - cidr: 0.0.0.0/0
        except: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, 100.64.0.0/10]
      - cidr: 10.20.0.0/16
YAML
# push: Web Push on with the chart-made Secret (a generated VAPID key), the default ranges (public IPv4 on 443)
# and a private push service range (PUSH_ALLOWED_NETWORKS, on the backend only); push-existing: production
# with the key in a Secret of its own (push.existingSecret), as GitOps tools without lookup need.
cat >"$WORK/push.yaml" <<'YAML'
push:
  enabled: true
  subject: mailto:ops@example.com
  allowedNetworks:
    - 10.30.0.0/16
YAML
cat >"$WORK/push-existing.yaml" <<'YAML'
push:
  enabled: true
  subject: https://todo.example.com
  existingSecret: todo-vapid
secret:
  keys:
    vapidPrivateKey: vapid-private-key
YAML
# guides: production with Secret todo-secrets made as the Phase IV guides make it (database-url,
# openai-api-key, better-auth-secret); guides-dev: a chart-made Secret under other key names.
GUIDES_KEYS="databaseUrl=database-url,llmApiKey=openai-api-key,authSecret=better-auth-secret"
GUIDES_DEV_KEYS="$GUIDES_KEYS,postgresPassword=postgres-password,oidcClientSecret=oidc-client-secret,smtpUrl=smtp-url"
# set_keys PAIRS: --set secret.keys.VALUE=KEY for each VALUE=KEY
set_keys() { local pair; for pair in ${1//,/ }; do printf -- '--set secret.keys.%s ' "$pair"; done; }
declare -A VARIANTS=(
  [dev]="--values $CHART/values.yaml"
  [staging]="--values $CHART/values.yaml --values $CHART/values-staging.yaml"
  [production]="--values $CHART/values.yaml --values $CHART/values-production.yaml"
  [sqlite]="--values $CHART/values.yaml --set database.mode=sqlite --set web.autoscaling.enabled=true --set api.autoscaling.enabled=true --set mcp.autoscaling.enabled=true"
  [external-dev]="--values $CHART/values.yaml --set database.mode=external --set database.external.url=postgres://todo:secret@db.internal:5432/todo --set database.external.cidrs={10.20.0.0/16}"
  [features]="--values $CHART/values.yaml --set web.service.type=NodePort --set web.service.nodePort=30080 --set ingress.exposeMcp=true --set serviceMonitor.enabled=true --set dashboards.enabled=true --set prometheusRule.enabled=true --set tracing.enabled=true"
  [llm-key]="--values $CHART/values.yaml --set secret.llmApiKey=sk-ci-not-a-real-key"
  [llm-narrow]="--values $CHART/values.yaml --values $CHART/values-production.yaml --values $WORK/llm-narrow.yaml"
  [llm-no-ranges]="--values $CHART/values.yaml --values $WORK/llm-no-ranges.yaml"
  [oidc]="--values $CHART/values.yaml --values $CHART/values-production.yaml --values $WORK/oidc.yaml"
  [mail]="--values $CHART/values.yaml --values $WORK/mail.yaml"
  [webhooks]="--values $CHART/values.yaml --values $WORK/webhooks.yaml"
  [webhooks-narrow]="--values $CHART/values.yaml --values $CHART/values-production.yaml --values $WORK/webhooks-narrow.yaml"
  [webhooks-private]="--values $CHART/values.yaml --values $WORK/webhooks-private.yaml"
  [push]="--values $CHART/values.yaml --values $WORK/push.yaml"
  [push-existing]="--values $CHART/values.yaml --values $CHART/values-production.yaml --values $WORK/push-existing.yaml"
  [guides]="--values $CHART/values.yaml --values $CHART/values-production.yaml --set secret.existingSecret=todo-secrets $(set_keys "$GUIDES_KEYS")"
  [guides-dev]="--values $CHART/values.yaml $(set_keys "$GUIDES_DEV_KEYS")"
)
VARIANT_ORDER=(dev staging production sqlite external-dev features llm-key llm-narrow llm-no-ranges oidc mail webhooks webhooks-narrow webhooks-private push push-existing guides guides-dev)

# render NAME: helm template into $WORK/rendered/NAME.yaml; any warning on stderr fails
render() {
  local name=$1
  # shellcheck disable=SC2086  # the variant's arguments are split on purpose
  helm template "$RELEASE" "$CHART" --namespace "$NAMESPACE" ${VARIANTS[$name]} \
    >"$WORK/rendered/$name.yaml" 2>"$WORK/render.err" || { cat "$WORK/render.err"; return 1; }
  if [ -s "$WORK/render.err" ]; then echo "helm printed warnings:"; cat "$WORK/render.err"; return 1; fi
  grep -q '^kind: Deployment' "$WORK/rendered/$name.yaml" || { echo "no Deployment rendered"; return 1; }
}

notes() {
  local name=$1
  # shellcheck disable=SC2086
  helm install "$RELEASE" "$CHART" --namespace "$NAMESPACE" --dry-run=client ${VARIANTS[$name]} >"$WORK/notes.txt" 2>&1 \
    || { cat "$WORK/notes.txt"; return 1; }
  sed -n '/^NOTES:/,$p' "$WORK/notes.txt" >"$WORK/notes-only.txt"
  grep -q "helm test $RELEASE" "$WORK/notes-only.txt" || { echo "NOTES.txt did not render"; return 1; }
}

lint() {
  local name=$1
  # shellcheck disable=SC2086
  helm lint --strict "$CHART" --namespace "$NAMESPACE" ${VARIANTS[$name]}
}

echo "== helm lint and template"
mkdir -p "$WORK/rendered"
for name in "${VARIANT_ORDER[@]}"; do
  check "helm lint --strict ($name)" lint "$name"
  check "helm template ($name)" render "$name"
  check "NOTES.txt renders ($name)" notes "$name"
done
# the plain manifests are validated and policy-checked like the renders
cat k8s/namespace.yaml k8s/todo.yaml >"$WORK/rendered/plain-k8s.yaml"

# ---------------------------------------------------------------------------------------------
echo "== schema validation (kubernetes-validate --strict, Kubernetes $OLDEST_KUBERNETES and $NEWEST_KUBERNETES)"
validate() {
  local file=$1 rc=0
  kubernetes-validate --strict --quiet -k "$OLDEST_KUBERNETES" -k "$NEWEST_KUBERNETES" "$file" >"$WORK/kv.log" 2>&1 || rc=$?
  cat "$WORK/kv.log"
  [ "$rc" = 0 ] || return 1
  # WARN = no schema: a removed/deprecated API or an unknown kind. Only the known CRDs may do that.
  if grep '^WARN' "$WORK/kv.log" | grep -Ev "kind ($KNOWN_CRDS) " >"$WORK/kv-warn.log"; then
    echo "objects without a schema in Kubernetes $OLDEST_KUBERNETES or $NEWEST_KUBERNETES (removed or unknown API)"
    return 1
  fi
  grep -q '^ERROR\|^FATAL' "$WORK/kv.log" && return 1
  return 0
}
validator_rejects_bad_objects() {
  # guard against a validator that silently checks nothing
  sed 's/^  replicas: 2$/  replica: 2/' "$WORK/rendered/dev.yaml" >"$WORK/bad.yaml"
  grep -q '^  replica: 2$' "$WORK/bad.yaml" || { echo "could not make a bad object"; return 1; }
  if kubernetes-validate --strict --quiet -k "$OLDEST_KUBERNETES" -k "$NEWEST_KUBERNETES" "$WORK/bad.yaml" >/dev/null 2>&1; then
    echo "kubernetes-validate accepted a Deployment with an unknown field"; return 1
  fi
  printf 'apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\nspec: {}\n' >"$WORK/removed.yaml"
  if validate "$WORK/removed.yaml" >/dev/null; then echo "a removed API version was accepted"; return 1; fi
}
check "kubernetes-validate rejects an unknown field and a removed API" validator_rejects_bad_objects
for file in "$WORK"/rendered/*.yaml; do
  check "kubernetes-validate --strict $(basename "$file" .yaml) ($(grep -c '^kind:' "$file") objects)" validate "$file"
done

# ---------------------------------------------------------------------------------------------
echo "== policies (checkov; skipped: $CHECKOV_SKIPS)"
run_checkov() {
  local rc=0
  checkov --directory "$WORK/rendered" --framework kubernetes --compact --quiet \
    --skip-check "$CHECKOV_SKIPS" >"$WORK/checkov.log" 2>&1 || rc=$?
  cat "$WORK/checkov.log"
  grep -q 'Passed checks: [1-9]' "$WORK/checkov.log" || { echo "checkov did not run"; return 1; }
  grep -q 'Failed checks: 0,' "$WORK/checkov.log" && [ "$rc" = 0 ]
}
check "checkov on all renders and k8s/: 0 failed" run_checkov

# ---------------------------------------------------------------------------------------------
echo "== the schema rejects wrong values"
# rejects MESSAGE HELM_ARGS...: helm template must fail and say MESSAGE
rejects() {
  local message=$1 rc=0
  shift
  helm template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "$@" >/dev/null 2>"$WORK/reject.err" || rc=$?
  cat "$WORK/reject.err"
  [ "$rc" != 0 ] || { echo "helm template accepted: $*"; return 1; }
  grep -qF -- "$message" "$WORK/reject.err" || { echo "the error does not say: $message"; return 1; }
}
printf 'web:\n  replicaCont: 3\n' >"$WORK/typo.yaml"
check "rejects web.replicaCount=two (type)" rejects "at '/web/replicaCount': got string, want integer" --set web.replicaCount=two
check "rejects a typo in a values file (unknown key)" rejects "additional properties 'replicaCont' not allowed" --values "$WORK/typo.yaml"
check "rejects an unknown top-level key" rejects "additional properties 'replicas' not allowed" --set replicas=3
check "rejects database.mode=mysql (enum)" rejects "at '/database/mode': value must be one of" --set database.mode=mysql
check "rejects config.logLevel=verbose (enum)" rejects "at '/config/logLevel': value must be one of" --set config.logLevel=verbose
check "rejects a plain-HTTP OpenID Connect issuer" rejects "at '/config/oidc/issuer'" --set config.oidc.issuer=http://id.example.com
check "rejects password log-in off without single sign-on" rejects "config.passwordLogin=false needs config.oidc.issuer" \
  --set config.passwordLogin=false
check "rejects an issuer without a client id" rejects "config.oidc.issuer needs config.oidc.clientId" \
  --set config.oidc.issuer=https://id.example.com
check "rejects api.autoscaling.maxReplicas=0 (minimum)" rejects "at '/api/autoscaling/maxReplicas'" --set api.autoscaling.maxReplicas=0
check "rejects web.service.type=Ingress (enum)" rejects "at '/web/service/type'" --set web.service.type=Ingress
check "rejects a short secret.authSecret" rejects "at '/secret/authSecret'" --set secret.authSecret=short
check "rejects existingSecret together with secret.create" rejects "either let the chart create the Secret" --set secret.existingSecret=mine
check "rejects values-production.yaml + secret.authSecret" rejects "only used when secret.create=true" \
  --values "$CHART/values.yaml" --values "$CHART/values-production.yaml" --set secret.authSecret=0123456789abcdef0123456789abcdef
check "rejects external mode without database.external.cidrs" rejects "needs database.external.cidrs" \
  --set database.mode=external --set database.external.url=postgres://u:p@db:5432/todo
check "rejects TLS without a host" rejects "ingress.tls.enabled needs ingress.host" --set ingress.tls.enabled=true
check "rejects a grace period shorter than drain + 20 s" rejects "must be greater than config.shutdownDrainSeconds + 20" \
  --set terminationGracePeriodSeconds=20
# (with --values values.yaml, as the docs install, --set ipBlocks[0].cidr= keeps the default except list)
check "rejects an except outside its cidr (--set ipBlocks[0].cidr= over values.yaml)" rejects \
  "except 10.0.0.0/8 is not a smaller range inside cidr 203.0.113.0/24" --values "$CHART/values.yaml" \
  --set 'networkPolicy.llmEgress.ipBlocks[0].cidr=203.0.113.0/24'
check "rejects a webhook except outside its cidr (--set ipBlocks[0].cidr= over values.yaml)" rejects \
  "networkPolicy.webhookEgress.ipBlocks[0]: except 10.0.0.0/8 is not a smaller range inside cidr 203.0.113.0/24" \
  --values "$CHART/values.yaml" --set webhooks.enabled=true --set 'networkPolicy.webhookEgress.ipBlocks[0].cidr=203.0.113.0/24'
check "rejects networkPolicy.webhookEgress.ports [] (it would open every port)" rejects \
  "at '/networkPolicy/webhookEgress/ports'" --set-json 'networkPolicy.webhookEgress.ports=[]'
check "rejects a webhook port that is not a TCP port" rejects "at '/networkPolicy/webhookEgress/ports/0'" \
  --set-json 'networkPolicy.webhookEgress.ports=[70000]'
check "rejects webhooks.allowedNetworks entries that are not addresses or ranges" rejects \
  "at '/webhooks/allowedNetworks/0'" --set 'webhooks.allowedNetworks={intranet.example}'
check "rejects push.enabled without push.subject" rejects "push.enabled needs push.subject" --set push.enabled=true
check "rejects a push.subject that is not mailto: or https:" rejects "at '/push/subject'" \
  --set push.enabled=true --set push.subject=ops@example.com
check "rejects a secret.vapidPrivateKey that is neither PEM nor 32 bytes in base64url" rejects "at '/secret/vapidPrivateKey'" \
  --set push.enabled=true --set push.subject=mailto:ops@example.com --set secret.vapidPrivateKey=not-a-key
check "rejects values-production.yaml + secret.vapidPrivateKey" rejects "only used when secret.create=true" \
  --values "$CHART/values.yaml" --values "$CHART/values-production.yaml" --set push.enabled=true \
  --set push.subject=mailto:ops@example.com --set secret.vapidPrivateKey=pQ0MaIJI6gpKY4X-wODyHGzQRcuSWhBMWZJRNt1MON0
check "rejects push.existingSecret without push.enabled" rejects "but push.enabled is false" --set push.existingSecret=todo-vapid
check "rejects networkPolicy.pushEgress.ports [] (it would open every port)" rejects \
  "at '/networkPolicy/pushEgress/ports'" --set-json 'networkPolicy.pushEgress.ports=[]'
check "rejects an LLM URL whose port is not a TCP port" rejects "the port of the LLM URL (70000) is not a TCP port" \
  --set config.llm.baseUrl=https://llm.example.com:70000/v1
check "rejects mail.enabled without mail.from" rejects "mail.enabled needs mail.from" \
  --set mail.enabled=true --set secret.smtpUrl=smtp://mail.example.com --set mail.webUrl=https://todo.example
check "rejects mail.enabled without a range for its egress" rejects "mail.enabled needs mail.egress.ipBlocks" \
  --set mail.enabled=true --set mail.from=todo@example.com --set secret.smtpUrl=smtp://mail.example.com --set mail.webUrl=https://todo.example
check "rejects secret.smtpUrl without mail.enabled" rejects "secret.smtpUrl is set but mail.enabled is false" \
  --set secret.smtpUrl=smtp://mail.example.com
check "rejects prometheusRule.errorRatio above 1 (a share)" rejects "at '/prometheusRule/errorRatio'" \
  --set-json prometheusRule.errorRatio=2
check "rejects one Secret key for two values" rejects "secret.keys names one Secret key for two values" \
  --set secret.keys.llmApiKey=DATABASE_URL
check "rejects a Secret key name with a space" rejects "at '/secret/keys/databaseUrl'" --set "secret.keys.databaseUrl=database url"
check "rejects the removed database.external.existingSecretKey (now secret.keys.databaseUrl)" rejects \
  "additional properties 'existingSecretKey' not allowed" --set database.external.existingSecretKey=database-url
check "rejects the removed networkPolicy.llmEgress.enabled" rejects "at '/networkPolicy/llmEgress': additional properties 'enabled' not allowed" \
  --set networkPolicy.llmEgress.enabled=true

# ---------------------------------------------------------------------------------------------
echo "== NetworkPolicies allow exactly the architecture's flows"
netpol() { "$PYTHON" .ci/netpol_flows.py "$@"; }
R="$WORK/rendered"
check "flows: dev (in-chart PostgreSQL) + self-test" netpol "$R/dev.yaml" --database postgres --self-test
check "flows: staging" netpol "$R/staging.yaml" --database postgres
check "flows: production (external database)" netpol "$R/production.yaml" --database external --self-test
check "flows: sqlite" netpol "$R/sqlite.yaml" --database sqlite --self-test
check "flows: external database with a chart-made Secret" netpol "$R/external-dev.yaml" --database external
check "flows: NodePort web, /mcp on the Ingress, Prometheus, trace collector" netpol "$R/features.yaml" --database postgres \
  --web-exposed --mcp-exposed --monitoring --tracing --self-test
# with an LLM: the backend reaches the provider, and only in the ranges of the values
check "flows: LLM by API key only (OpenAI: public IPv4 on 443)" netpol "$R/llm-key.yaml" --database postgres \
  --llm-egress internet-host:443 --llm-egress llm-provider:443 --self-test
check "flows: LLM on :8443 narrowed to 203.0.113.0/24 (production)" netpol "$R/llm-narrow.yaml" --database external \
  --llm-egress llm-provider:8443 --self-test
check "flows: LLM with ipBlocks [] (no address range at all)" netpol "$R/llm-no-ranges.yaml" --database postgres --self-test
# --llm-egress names any outside host the backend must reach: here the OpenID Connect provider on 443.
check "flows: single sign-on (the provider: public IPv4 on 443)" netpol "$R/oidc.yaml" --database external \
  --llm-egress internet-host:443 --llm-egress llm-provider:443
check "flows: reset mails to one relay on 587" netpol "$R/mail.yaml" --database postgres --mail-egress mail-server:587 --self-test
# webhooks: every public IPv4 host on 443 and 80 (not the private host, the metadata address or another port)
check "flows: webhooks (public IPv4 on 443 and 80)" netpol "$R/webhooks.yaml" --database postgres \
  --webhook-egress internet-host:443 --webhook-egress internet-host:80 --webhook-egress llm-provider:443 --self-test
check "flows: webhooks narrowed to 203.0.113.0/24 on 8443 (production)" netpol "$R/webhooks-narrow.yaml" --database external \
  --webhook-egress llm-provider:8443 --self-test
check "flows: webhooks to public IPv4 and a private receiver range (10.20.0.0/16)" netpol "$R/webhooks-private.yaml" \
  --database postgres --webhook-egress internet-host:443 --webhook-egress internet-host:80 --webhook-egress llm-provider:443 \
  --webhook-egress private-network-host:443 --self-test
# webhooks off (dev): the backend's policy has no webhook rule and no WEBHOOK_ALLOWED_NETWORKS; on: exactly one
# rule with the default ranges on 443 and 80, and WEBHOOK_ALLOWED_NETWORKS on the backend only
webhook_rule_and_env() {
  "$PYTHON" - "$R/dev.yaml" "$R/webhooks.yaml" "$CHART/values.yaml" <<'EOF'
import sys, yaml
def rendered(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]
def range_rules(docs):
    api = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-api"))
    return [r for r in api["spec"]["egress"] if any("ipBlock" in p for p in r["to"])]
def env(docs):
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]:
            {e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}
            for d in docs if d["kind"] == "Deployment"}
off, on = rendered(sys.argv[1]), rendered(sys.argv[2])
default = yaml.safe_load(open(sys.argv[3]))["networkPolicy"]["webhookEgress"]
assert range_rules(off) == [], f"webhooks off: address ranges in the backend's egress: {range_rules(off)}"
assert not any("WEBHOOK_ALLOWED_NETWORKS" in e for e in env(off).values()), "webhooks off: WEBHOOK_ALLOWED_NETWORKS set"
want = {"to": [{"ipBlock": b} for b in default["ipBlocks"]], "ports": [{"protocol": "TCP", "port": p} for p in default["ports"]]}
assert range_rules(on) == [want], f"webhooks on: {range_rules(on)}, want {want}"
assert default["ports"] == [443, 80] and default["ipBlocks"][0]["cidr"] == "0.0.0.0/0", default
roles = env(on)
assert roles["api"].get("WEBHOOK_ALLOWED_NETWORKS") == "10.20.0.0/16,fd12:3456::/48", roles["api"]
assert not [r for r in ("web", "mcp") if "WEBHOOK_ALLOWED_NETWORKS" in roles[r]], "WEBHOOK_ALLOWED_NETWORKS beyond the backend"
config = next(d for d in on if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config"))
assert "WEBHOOK_ALLOWED_NETWORKS" not in config["data"], "WEBHOOK_ALLOWED_NETWORKS in the shared ConfigMap"
print("off: no rule, no variable; on:", default["ipBlocks"][0], "on ports", default["ports"])
EOF
}
check "webhooks: off, no egress rule; on, the default ranges on 443 and 80 and the variable on the backend only" webhook_rule_and_env
# Web Push: every public IPv4 host on 443 only (not 80, not the private range PUSH_ALLOWED_NETWORKS names: the
# NetworkPolicy needs it in pushEgress.ipBlocks too)
check "flows: push (public IPv4 on 443)" netpol "$R/push.yaml" --database postgres \
  --push-egress internet-host:443 --push-egress llm-provider:443 --self-test
check "flows: push with the key in its own Secret (production)" netpol "$R/push-existing.yaml" --database external \
  --push-egress internet-host:443 --push-egress llm-provider:443
# push off (dev): no VAPID variable, no key in the Secret, no push rule; on: the key from the chart's Secret (a
# generated P-256 PEM) or from push.existingSecret under secret.keys.vapidPrivateKey, on the backend only
push_key_env_and_rule() {
  "$PYTHON" - "$R/dev.yaml" "$R/push.yaml" "$R/push-existing.yaml" "$CHART/values.yaml" <<'EOF'
import base64, sys, yaml
def rendered(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]
def push_rules(docs):
    api = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-api"))
    return [r for r in api["spec"]["egress"] if any("ipBlock" in p for p in r["to"])]
def env(docs):
    return {d["metadata"]["labels"]["app.kubernetes.io/component"]:
            {e["name"]: e.get("value", e.get("valueFrom")) for e in d["spec"]["template"]["spec"]["containers"][0].get("env", [])}
            for d in docs if d["kind"] == "Deployment"}
def secret(docs):
    return next((d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-secrets")), None)
off, on, own = rendered(sys.argv[1]), rendered(sys.argv[2]), rendered(sys.argv[3])
default = yaml.safe_load(open(sys.argv[4]))["networkPolicy"]["pushEgress"]
push_vars = ("VAPID_PRIVATE_KEY", "VAPID_SUBJECT", "PUSH_ALLOWED_NETWORKS")
assert push_rules(off) == [], f"push off: address ranges in the backend's egress: {push_rules(off)}"
assert not [v for e in env(off).values() for v in push_vars if v in e], "push off: a push variable is set"
assert "VAPID_PRIVATE_KEY" not in secret(off)["data"], "push off: a VAPID key in the Secret"
want = {"to": [{"ipBlock": b} for b in default["ipBlocks"]], "ports": [{"protocol": "TCP", "port": p} for p in default["ports"]]}
assert default["ports"] == [443] and default["ipBlocks"][0]["cidr"] == "0.0.0.0/0", default
for name, docs in (("push", on), ("push-existing", own)):
    assert push_rules(docs)[-1:] == [want], f"{name}: {push_rules(docs)}, want {want}"
    roles = env(docs)
    assert not [r for r in ("web", "mcp") for v in push_vars if v in roles[r]], f"{name}: push variables beyond the backend"
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config"))
    assert not [v for v in push_vars if v in config["data"]], f"{name}: push variables in the shared ConfigMap"
api = env(on)["api"]
assert api["VAPID_PRIVATE_KEY"] == {"secretKeyRef": {"name": "todo-secrets", "key": "VAPID_PRIVATE_KEY"}}, api["VAPID_PRIVATE_KEY"]
assert api["VAPID_SUBJECT"] == "mailto:ops@example.com" and api["PUSH_ALLOWED_NETWORKS"] == "10.30.0.0/16", api
pem = base64.b64decode(secret(on)["data"]["VAPID_PRIVATE_KEY"]).decode()
lines = pem.strip().splitlines()
assert lines[0] == "-----BEGIN EC PRIVATE KEY-----" and lines[-1] == "-----END EC PRIVATE KEY-----", pem
der = base64.b64decode("".join(lines[1:-1]))
# SEC1 ECPrivateKey: version 1, a 32-byte private key, the curve prime256v1 (1.2.840.10045.3.1.7)
assert der[2:7] == bytes.fromhex("020101" "0420") and bytes.fromhex("06082a8648ce3d030107") in der, der.hex()
api = env(own)["api"]
assert api["VAPID_PRIVATE_KEY"] == {"secretKeyRef": {"name": "todo-vapid", "key": "vapid-private-key"}}, api["VAPID_PRIVATE_KEY"]
assert "PUSH_ALLOWED_NETWORKS" not in api and secret(own) is None, "push-existing: PUSH_ALLOWED_NETWORKS or a chart-made Secret"
print("off: no rule, no variable, no key; on: a generated P-256 key,", default["ipBlocks"][0]["cidr"], "on", default["ports"])
EOF
}
check "push: off, nothing; on, the key from a Secret, the subject, 0.0.0.0/0 on 443, on the backend only" push_key_env_and_rule
# tracing: the OTEL_* variables are in the ConfigMap of web, api and mcp only with tracing.enabled
otel_env() {
  "$PYTHON" - "$R/dev.yaml" "$R/features.yaml" <<'EOF'
import sys, yaml
def rendered(path):
    return [d for d in yaml.safe_load_all(open(path)) if d]
def config(docs):
    return next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-config"))
off, on = rendered(sys.argv[1]), rendered(sys.argv[2])
assert not [k for k in config(off)["data"] if k.startswith("OTEL_")], "OTEL_* without tracing.enabled"
data = config(on)["data"]
assert data["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http") and "k8s.namespace.name=todo" in data["OTEL_RESOURCE_ATTRIBUTES"], data
roles = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in on if d["kind"] == "Deployment"}
for role in ("web", "api", "mcp"):
    refs = [e.get("configMapRef", {}).get("name") for c in roles[role]["spec"]["template"]["spec"]["containers"] for e in c.get("envFrom", [])]
    assert config(on)["metadata"]["name"] in refs, f"{role} does not read the ConfigMap: {refs}"
EOF
}
check "tracing: OTEL_* reach web, api and mcp only with tracing.enabled" otel_env
# the renders without an LLM or webhooks have no egress to 0.0.0.0/0 on 443 (the old chart's rule); llm-key and webhooks have it
public_443_egress() {
  "$PYTHON" - "$@" <<'EOF'
import sys, yaml
for path, want in zip(sys.argv[1::2], sys.argv[2::2]):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    ranges = [(d["metadata"]["name"], p["ipBlock"]["cidr"], [q.get("port") for q in r.get("ports") or []])
              for d in docs if d.get("kind") == "NetworkPolicy"
              for r in d["spec"].get("egress") or [] for p in r.get("to") or [] if "ipBlock" in p]
    public = [r for r in ranges if r[1] == "0.0.0.0/0" and 443 in r[2]]
    print(f"{path.rsplit('/', 1)[-1]}: egress to address ranges: {ranges or 'none'}")
    assert bool(public) == (want != "none"), f"{path}: egress to 0.0.0.0/0 on 443 {'present' if want == 'none' else 'missing'}"
EOF
}
check "no LLM, webhooks or push, no egress to 0.0.0.0/0:443 (dev, staging, sqlite, features, k8s/); llm-key, webhooks, push have it" \
  public_443_egress "$R/dev.yaml" none "$R/staging.yaml" none "$R/sqlite.yaml" none "$R/features.yaml" none \
  "$R/plain-k8s.yaml" none "$R/llm-no-ranges.yaml" none "$R/llm-key.yaml" llm "$R/webhooks.yaml" webhooks "$R/push.yaml" push

# ---------------------------------------------------------------------------------------------
echo "== chart promises per environment"
facts() { "$PYTHON" .ci/chart_facts.py "$@"; }
check "facts: dev (Pod Security restricted, contract, PostgreSQL)" facts "$R/dev.yaml" --profile dev
check "facts: sqlite (1 backend, Recreate, PVC, no HPA/PDB/postgres/Job)" facts "$R/sqlite.yaml" --profile sqlite
check "facts: staging (existing Secret, HPAs 3-15 on CPU and memory, TLS)" facts "$R/staging.yaml" --profile staging
check "facts: production (HPAs 5-20, anti-affinity, external DB hook)" facts "$R/production.yaml" --profile production
check "facts: k8s/ plain manifests" facts "$R/plain-k8s.yaml" --profile plain
check "facts: the guides' Secret (database-url, openai-api-key, better-auth-secret)" facts "$R/guides.yaml" \
  --profile production --secret-keys "$GUIDES_KEYS"
check "facts: a chart-made Secret under other key names" facts "$R/guides-dev.yaml" --profile dev --secret-keys "$GUIDES_DEV_KEYS"
# guard: the facts notice key names that differ from the render's
facts_fail() { if facts "$@"; then echo "chart_facts.py passed: $*"; return 1; fi; }
check "facts fail on the guides' render with our default key names" facts_fail "$R/guides.yaml" --profile production
dashboard() {
  "$PYTHON" - "$R/features.yaml" <<'EOF'
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
assert cm and cm[0]["metadata"]["labels"].get("grafana_dashboard") == "1", "dashboard ConfigMap with grafana_dashboard: 1"
board = json.loads(cm[0]["data"]["todo-app.json"])
exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
for metric in ("http_server_requests_total", "http_server_request_duration_seconds_bucket", "process_resident_memory_bytes",
               "db_pool_connections_in_use", "db_pool_wait_duration_seconds_bucket", "reminder_delivery_lag_seconds_bucket"):
    assert metric in exprs, f"no panel uses {metric}"
assert "histogram_quantile(0.99" in exprs and "histogram_quantile(0.50" in exprs and 'http_response_status_code=~"5.."' in exprs
sm = [d for d in docs if d["kind"] == "ServiceMonitor"]
assert sm and sm[0]["spec"]["endpoints"][0]["path"] == "/metrics", "ServiceMonitor scrapes /metrics"
print(f"{len(board['panels'])} panels; ServiceMonitor ok")
EOF
}
check "Grafana dashboard and ServiceMonitor" dashboard

# ---------------------------------------------------------------------------------------------
echo "== alerts (promtool)"
# rules DIR HELM_ARGS...: the PrometheusRule's spec, rendered with HELM_ARGS, as DIR/rules.yml
# beside a copy of the unit tests (promtool finds rule_files next to the test file)
rules() {
  local dir=$1
  shift
  mkdir -p "$dir"
  helm template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --values "$CHART/values.yaml" \
    --set prometheusRule.enabled=true "$@" --show-only templates/prometheusrule.yaml >"$dir/rule.yaml" || return 1
  "$PYTHON" -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], open(sys.argv[2], "w"))' \
    "$dir/rule.yaml" "$dir/rules.yml" || return 1
  cp tests/prometheus/alerts.test.yml "$dir/"
}
alert_rules() {
  rules "$WORK/alerts" || return 1
  promtool check rules "$WORK/alerts/rules.yml" || return 1
  local alerts tested
  alerts=$(grep -c '^ *- alert:' "$WORK/alerts/rules.yml")
  tested=$(sed -n 's/^ *alertname: //p' tests/prometheus/alerts.test.yml | sort -u | wc -l)
  echo "$alerts alerts, $tested with unit tests"
  [ "$alerts" = "$tested" ] || { echo "every alert needs a unit test"; return 1; }
  promtool test rules "$WORK/alerts/alerts.test.yml"
}
check "promtool check rules; promtool test rules (each alert fires and stays silent)" alert_rules
# guard against tests that pass whatever the rules say: raised thresholds must fail them
alert_tests_fail_on_other_thresholds() {
  rules "$WORK/alerts-raised" --set-json 'prometheusRule.errorRatio=0.9' --set-json 'prometheusRule.restarts=50' || return 1
  if promtool test rules "$WORK/alerts-raised/alerts.test.yml" >"$WORK/raised.log" 2>&1; then
    echo "promtool test rules passed with thresholds that must not fire"; return 1
  fi
  grep -q 'alertname: TodoHighErrorRate' "$WORK/raised.log" && grep -q 'alertname: TodoPodRestarting' "$WORK/raised.log"
}
check "promtool test rules fails when the thresholds are raised" alert_tests_fail_on_other_thresholds

# ---------------------------------------------------------------------------------------------
echo "== lint"
check "yamllint values files, Chart.yaml and k8s/" yamllint --strict -c .ci/yamllint.yaml \
  "$CHART"/values*.yaml "$CHART/Chart.yaml" k8s/*.yaml
check "every value in the values files has a comment" "$PYTHON" .ci/values_comments.py "$CHART"/values*.yaml
check "values.schema.json is valid JSON" "$PYTHON" -m json.tool "$CHART/values.schema.json"
DEPLOY_SCRIPTS=(scripts/lib.sh scripts/build-images.sh scripts/load-minikube.sh scripts/load-kind.sh
                scripts/deploy-dev.sh scripts/minikube-setup.sh scripts/cleanup.sh scripts/render-manifests.sh)
check "shellcheck deployment scripts and this stage (all severities)" shellcheck -x "${DEPLOY_SCRIPTS[@]}" .ci/k8s-checks.sh
shopt -s nullglob
ALL_SCRIPTS=(scripts/*.sh .ci/*.sh)
[ -f .ci/run ] && ALL_SCRIPTS+=(.ci/run)
shopt -u nullglob
check "shellcheck scripts/*.sh .ci/*.sh .ci/run (warnings and errors)" shellcheck -x --severity=warning "${ALL_SCRIPTS[@]}"

# prints CMD... PATTERN-as-last-arg: CMD's output must contain a line matching the pattern
# (output captured first: `cmd | grep -q` can fail on SIGPIPE under pipefail)
prints() {
  local pattern=${*: -1} output
  output=$("${@:1:$#-1}" 2>&1) || { printf '%s\n' "$output"; echo "failed: ${*:1:$#-1}"; return 1; }
  grep -q -- "$pattern" <<<"$output" || { printf '%s\n' "$output"; echo "no line matches: $pattern"; return 1; }
}
scripts_help_and_dry_run() {
  local script
  for script in build-images load-minikube load-kind deploy-dev minikube-setup cleanup render-manifests release; do
    prints "scripts/$script.sh" --help "^Usage: scripts/$script.sh" || return 1
    if "scripts/$script.sh" --no-such-option >/dev/null 2>&1; then echo "$script.sh accepted an unknown option"; return 1; fi
  done
  # --dry-run prints the commands and needs none of the tools
  prints scripts/build-images.sh --dry-run --tag ci '^+ env DOCKER_BUILDKIT=1 docker build .*--tag todo:ci' || return 1
  # the guides' form: the tag as the only argument
  prints scripts/build-images.sh --dry-run latest '^+ env DOCKER_BUILDKIT=1 docker build .*--tag todo:latest --build-arg VERSION=0\.1\.0 ' || return 1
  prints scripts/load-minikube.sh --dry-run latest '^+ minikube --profile minikube image load todo:latest' || return 1
  if scripts/build-images.sh --dry-run latest other >/dev/null 2>&1; then echo "build-images.sh accepted two tags"; return 1; fi
  prints scripts/load-minikube.sh --dry-run --tag ci '^+ minikube --profile minikube image load todo:ci' || return 1
  prints scripts/load-kind.sh --dry-run --tag ci '^+ kind load docker-image todo:ci --name kind' || return 1
  prints scripts/deploy-dev.sh --dry-run --tag ci '^+ helm upgrade --install todo .*--set image.tag=ci .*--wait' || return 1
  prints scripts/deploy-dev.sh --dry-run '^+ kubectl label --overwrite namespace todo pod-security.kubernetes.io/enforce=restricted' || return 1
  prints scripts/minikube-setup.sh --dry-run '^+ minikube start .*--cni calico' || return 1
  prints scripts/minikube-setup.sh --dry-run '^+ minikube --profile minikube addons enable ingress' || return 1
  prints scripts/cleanup.sh --dry-run '^+ helm uninstall todo --namespace todo' || return 1
  prints scripts/cleanup.sh --dry-run --delete-data '^+ kubectl delete persistentvolumeclaim' || return 1
  prints scripts/render-manifests.sh --dry-run '^+ helm template todo .*--set secret.create=false --no-hooks'
}
check "scripts: --help, unknown options rejected, --dry-run prints commands" scripts_help_and_dry_run
check "scripts/render-manifests.sh --check (k8s/ matches the chart)" scripts/render-manifests.sh --check

# ---------------------------------------------------------------------------------------------
echo
if [ "$FAILED" != 0 ]; then
  printf 'failed: %s\n' "${FAILED_NAMES[@]}"
fi
echo "k8s-checks took $((SECONDS - STAGE_START)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
