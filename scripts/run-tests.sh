#!/usr/bin/env bash
# The whole suite. With DATABASE_URL set (PostgreSQL in CI), the database tests run a
# second time on the embedded SQLite default so it keeps working.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0

echo "== lint"
PATHS="bot cards web webhooks admin h5 server nlu devtools tests bench scripts wsgi.py"
.venv/bin/ruff format --check $PATHS || status=1
.venv/bin/ruff check $PATHS || status=1
.venv/bin/mypy || status=1

echo "== dialogue engine (nlu/)"
scripts/test-nlu.sh || status=1
scripts/nlu-cross-validation.sh || status=1

echo "== tests (database: ${DATABASE_URL:-embedded SQLite}, redis: ${REDIS_URL:-embedded})"
$PY -m pytest -q "$@" || status=1

if [ -n "${DATABASE_URL:-}" ]; then
  echo "== database tests again on the embedded SQLite default"
  env -u DATABASE_URL $PY -m pytest -q -m "db and not rasa" "$@" || status=1
fi

echo "== requirement traceability (docs/requirements.md)"
$PY scripts/req_report.py || status=1
exit $status
