"""The fake WeChat Work directory: members (user/get, create, list) and departments."""

from __future__ import annotations

from typing import Any

from flask import request

from .api import api_view, get_state, read_json, require
from .errors import ApiError
from .work_api import (
    _ok,
    bp,
)


@bp.get("/cgi-bin/user/get")
@api_view("work")
def user_get() -> dict[str, Any]:
    userid = request.args.get("userid")
    if not userid:
        raise ApiError(40058, "userid missing")
    user = get_state().directory.user(userid)
    if user is None:
        raise ApiError(60111)
    user.setdefault("status", 1)
    user.setdefault("main_department", (user.get("department") or [1])[0])
    return _ok(**user)


@bp.post("/cgi-bin/user/create")
@api_view("work")
def user_create() -> dict[str, Any]:
    data = read_json()
    userid = str(require(data, "userid", 40058, "userid missing"))
    name = str(require(data, "name", 40058, "name missing"))
    state = get_state()
    if state.directory.user(userid) is not None:
        raise ApiError(60102)
    department = data.get("department") or [1]
    if not isinstance(department, list):
        department = [department]
    extra = {k: v for k, v in data.items() if k not in ("userid", "name", "department")}
    state.directory.add_user(userid, name, [int(d) for d in department], **extra)
    return {"errcode": 0, "errmsg": "created"}


@bp.get("/cgi-bin/user/list")
@api_view("work")
def user_list() -> dict[str, Any]:
    """Members of a department (``fetch_child=1``: and of its sub-departments)."""
    state = get_state()
    dept = request.args.get("department_id")
    if not dept or not dept.isdigit():
        raise ApiError(60003)
    wanted = {int(dept)}
    if request.args.get("fetch_child") == "1":
        wanted = {d["id"] for d in state.directory.departments(int(dept))}
    users = [u for u in state.directory.users() if wanted.intersection(u.get("department") or [])]
    for u in users:
        u.setdefault("status", 1)
    return _ok(userlist=users)


@bp.get("/cgi-bin/department/list")
@api_view("work")
def department_list() -> dict[str, Any]:
    dept = request.args.get("id")
    return _ok(department=get_state().directory.departments(int(dept) if dept else None))


# ---------------------------------------------------------------------- OAuth (H5 pages)
