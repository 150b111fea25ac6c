#!/usr/bin/env bash
# Print where the running service can be reached.
port="${PORT:-5000}"
base="${PUBLIC_BASE_URL:-http://127.0.0.1:$port}"
cat <<TXT

  静脉通路全程管理系统 is starting:
    service home        $base/
    health check        $base/healthz
    WeChat callback     $base/wechat/mp      (official account)
    WeChat Work         $base/wechat/work    (clinician app)
TXT
if [[ "${WECHAT_API_BASE:-}" == http://127.0.0.1:* ]]; then
  sim="${WECHAT_API_BASE%/mp}"
  cat <<TXT
    WeChat simulator    $sim/phone           (chat as a patient or a clinician)
TXT
fi
echo "  Stop with Ctrl-C."
echo
