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
    staff sign-in       $base/login          (first time: .venv/bin/flask staff reset-password admin)
    admin web           $base/admin/
    patient home (H5)   $base/h5/home
TXT
if [[ "${WECHAT_API_BASE:-}" == http://127.0.0.1:* ]]; then
  sim="${WECHAT_API_BASE%/mp}"
  cat <<TXT
    WeChat simulator    $sim/phone           (chat as a patient or a clinician)
    internet hospital   ${INTERNET_HOSPITAL_BASE:-}  (simulated; zhangsan / 123456)
TXT
fi
echo "  Stop with Ctrl-C."
echo
