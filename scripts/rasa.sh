#!/usr/bin/env bash
# The Rasa server (Python 3.10 venv .venv-rasa).
#   scripts/rasa.sh train   train the model if nlu/ changed (keyed by a hash of nlu/; cached)
#   scripts/rasa.sh model   print the path of the model for the current nlu/
#   scripts/rasa.sh run     serve it with the HTTP API (RASA_PORT, default 5005)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vascular-access/rasa-models"
mkdir -p "$CACHE"

nlu_hash() {
  find nlu/config.yml nlu/domain nlu/data -type f -name '*.yml' | LC_ALL=C sort | xargs cat \
    | cat - requirements-rasa.txt | sha256sum | cut -c1-16
}
model() { echo "$CACHE/nlu-$(nlu_hash).tar.gz"; }

train() {
  local m; m=$(model)
  if [ -f "$m" ]; then echo "[rasa] model for this nlu/ is cached: $m"; return; fi
  echo "[rasa] training (nlu/ changed; about a minute on 2 cores)"
  local out; out=$(mktemp -d)
  .venv-rasa/bin/rasa train --config nlu/config.yml --domain nlu/domain --data nlu/data \
    --out "$out" --fixed-model-name model --quiet
  mv "$out/model.tar.gz" "$m"
  rm -rf "$out"
  echo "[rasa] model: $m"
}

case "${1:-}" in
  train) train ;;
  model) model ;;
  run)
    train
    instance="${INSTANCE_PATH:-instance}"
    mkdir -p "$instance"
    .venv/bin/python -m server.rasa_endpoints > "$instance/rasa-endpoints.yml"
    exec .venv-rasa/bin/rasa run --enable-api --port "${RASA_PORT:-5005}" -i 127.0.0.1 \
      --model "$(model)" --endpoints "$instance/rasa-endpoints.yml" --credentials nlu/credentials.yml
    ;;
  *) echo "usage: $0 train|model|run" >&2; exit 2 ;;
esac
