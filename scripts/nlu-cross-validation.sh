#!/usr/bin/env bash
# 5-fold NLU cross-validation with the thresholds of issue 4 (intent macro F1 >= 0.95, entity
# F1 >= 0.90). Writes nlu/reports/cross_validation.md (committed); the result is cached by
# the hash of nlu/ like the model. Five trainings: expensive on 2 cores, so not yet part of
# `make test` (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
RASA=.venv-rasa/bin/rasa
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/vascular-access/rasa-cv"
mkdir -p "$CACHE" nlu/reports

echo "== NLU 5-fold cross-validation"
hash=$(basename "$(scripts/rasa.sh model)" .tar.gz)
if [ ! -f "$CACHE/$hash/intent_report.json" ]; then
  rm -rf "$CACHE/$hash"
  $RASA test nlu --config nlu/config.yml --nlu nlu/data --domain nlu/domain --cross-validation --folds 5 \
    --out "$CACHE/$hash" --quiet
fi
.venv/bin/python - "$CACHE/$hash" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
intents = json.loads((out / "intent_report.json").read_text())
entities = json.loads((out / "DIETClassifier_report.json").read_text())
intent_f1 = intents["macro avg"]["f1-score"]
entity_f1 = entities["weighted avg"]["f1-score"]
rows = sorted((k, v["f1-score"], v["support"]) for k, v in intents.items() if isinstance(v, dict) and "support" in v and k not in ("macro avg", "weighted avg", "micro avg"))
lines = ["# NLU 5-fold cross-validation", "", f"intent macro F1: {intent_f1:.3f} (target ≥ 0.95)  ", f"entity F1 (DIET, weighted): {entity_f1:.3f} (target ≥ 0.90)", "", "| intent | F1 | examples |", "|---|---|---|"]
lines += [f"| {k} | {f1:.3f} | {n} |" for k, f1, n in rows]
pathlib.Path("nlu/reports/cross_validation.md").write_text("\n".join(lines) + "\n")
print(f"intent macro F1 {intent_f1:.3f}, entity F1 {entity_f1:.3f} (report: nlu/reports/cross_validation.md)")
sys.exit(0 if intent_f1 >= 0.95 and entity_f1 >= 0.90 else 1)
PY
