"""低代码平台推送 (A7.6): every export's push to the hospital's low-code platform — failed first,
then waiting, then done, newest first —, with the platform's message, the batches done, the
platform's record id and the next automatic attempt; 重试 queues a push again (a rejected
batch waits for it; with the task queue down the push stays pending and the retry sweep queues
it later). Administrators only; a retry is audited."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect
from flask_admin import BaseView, expose
from flask_wtf.csrf import generate_csrf
from redis.exceptions import RedisError

from bot.jobs.lowcode import configured, enqueue_push
from bot.models import ExportLog, utcnow
from bot.services import audit, lowcode
from web import container, db, require_csrf, uow

from .base import AdminOnly, admin_actor

log = logging.getLogger(__name__)


class LowcodeView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        s = db()
        rows = lowcode.pushes(s)
        settings = container().settings
        return self.render(
            "admin/lowcode.html",
            rows=rows,
            done=lowcode.batches_done(s, [e.id for e in rows]),
            total=lowcode.total_batches,
            retryable=lowcode.retryable,
            labels=lowcode.STATUS_LABELS,
            configured=configured(settings),
            base_url=settings.lowcode_base_url,
            csrf=generate_csrf(),
            tz=settings.timezone,
        )

    @expose("/<int:id>/retry", methods=["POST"])
    def retry(self, id: int) -> Any:
        require_csrf()
        ctx = container()
        export = db().get(ExportLog, id)
        if export is None:
            abort(404)
        if not configured(ctx.settings):
            flash("未配置低代码平台（LOWCODE_BASE_URL），无法推送。", "error")
            return redirect(self.get_url(".index"))
        if not lowcode.retryable(export):
            flash(f"导出 {id} 不需要重试。", "error")
            return redirect(self.get_url(".index"))
        lowcode.mark_pending(export, utcnow())
        audit.record(
            db(),
            admin_actor(),
            "update",
            "export_log",
            id,
            context="lowcode retry",
            detail={"kind": export.kind},
        )
        uow().commit()
        try:
            enqueue_push(ctx.redis, id, ctx.settings)
        except RedisError:
            # left pending: the retry sweep queues it once the queue is back
            log.exception("low-code push of export %s not queued", id)
            flash("任务队列暂时不可用，请稍后重试。", "error")
            return redirect(self.get_url(".index"))
        flash(f"已重新排队推送导出 {id}，已完成的批次不会重复发送。")
        return redirect(self.get_url(".index"))
