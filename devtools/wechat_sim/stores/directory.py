"""WeChat Work's address book: members and departments, seeded with a small hospital."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from .core import Store

DEFAULT_CLINICIAN = "n0001"


def _department(id_: int, name: str, name_en: str, parentid: int, order: int) -> dict[str, Any]:
    return {"id": id_, "name": name, "name_en": name_en, "parentid": parentid, "order": order}


def _member(userid: str, name: str, department: int, position: str, mobile: str) -> dict[str, Any]:
    return {
        "userid": userid,
        "name": name,
        "department": [department],
        "position": position,
        "mobile": mobile,
    }


DEFAULT_DEPARTMENTS: list[dict[str, Any]] = [
    _department(1, "仿真医院", "Sim Hospital", 0, 100000000),
    _department(2, "护理部", "Nursing", 1, 99999000),
    _department(3, "血管通路护理门诊", "Vascular Access Clinic", 2, 99998000),
    _department(4, "介入科", "Interventional Radiology", 1, 99997000),
    _department(5, "外院医护", "Outside Clinicians", 1, 99996000),
]

DEFAULT_WORK_USERS: list[dict[str, Any]] = [
    _member("n0001", "王护士", 3, "护士", "13800000001"),
    _member("n0002", "赵护士", 3, "护士长", "13800000002"),
    _member("d0001", "李医生", 4, "主治医师", "13800000003"),
]


class Directory(Store):
    def reset(self) -> None:
        with self._lock:
            self._users = {u["userid"]: copy.deepcopy(u) for u in DEFAULT_WORK_USERS}
            self._departments = copy.deepcopy(DEFAULT_DEPARTMENTS)

    def add_user(
        self, userid: str, name: str | None = None, department: Iterable[int] = (3,), **info: Any
    ) -> dict[str, Any]:
        with self._lock:
            user = self._users.get(userid)
            if user is None:
                user = {"userid": userid, "name": name or userid, "department": list(department)}
                self._users[userid] = user
            elif name:
                user["name"] = name
            user.update(info)
            return copy.deepcopy(user)

    def user(self, userid: str) -> dict[str, Any] | None:
        with self._lock:
            user = self._users.get(userid)
            return copy.deepcopy(user) if user else None

    def users(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._users.values()))

    def departments(self, root: int | None = None) -> list[dict[str, Any]]:
        """All departments, or ``root`` and the departments below it."""
        with self._lock:
            if root is None:
                return copy.deepcopy(self._departments)
            wanted = {root}
            changed = True
            while changed:
                changed = False
                for d in self._departments:
                    if d["parentid"] in wanted and d["id"] not in wanted:
                        wanted.add(d["id"])
                        changed = True
            return copy.deepcopy([d for d in self._departments if d["id"] in wanted])

    def users_in(self, dept_ids: Iterable[int]) -> list[str]:
        """The userids of the members of ``dept_ids`` and the departments below them."""
        with self._lock:
            wanted: set[int] = set()
            for d in dept_ids:
                wanted.update(x["id"] for x in self.departments(int(d)))
            return [
                u["userid"]
                for u in self._users.values()
                if wanted.intersection(u.get("department", []))
            ]
