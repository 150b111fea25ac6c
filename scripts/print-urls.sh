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
  Stop with Ctrl-C.

TXT
