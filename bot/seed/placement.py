"""What a demo catheter's placement record says: the product, vein, lengths and tip
(catheters.yaml), one function per device type."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .context import Builder, Plan
from .tables import CATHETERS

Fields = dict[str, Any]
C = CATHETERS


def placement_fields(b: Builder, plan: Plan) -> Fields:
    """The Catheter columns of the placement of ``plan``."""
    side = b.code("sides", "RIGHT" if b.rng.random() < 0.65 else "LEFT")
    f: Fields = {"attempts": b.pick({1: 85, 2: 12, 3: 3}), "side": side}
    f.update(_BY_DEVICE[plan.device](b, plan, side))
    roll = b.rng.random()
    first, second = C["immediate_complications"]
    if roll < 0.04:
        f["immediate_complications"] = first
    elif roll < 0.06:
        f["immediate_complications"] = second
    return f


def _lot(b: Builder, prefix: str) -> str:
    return f"{prefix}{b.rng.randrange(100000, 1000000)}"


def _picc(b: Builder, plan: Plan, side: str) -> Fields:
    rng = b.rng
    model = b.pick({i: m["weight"] for i, m in enumerate(C["picc_models"])})
    spec = C["picc_models"][model]
    fr, lumens = rng.choice(spec["sizes"])
    ecg = rng.random() < 0.7
    base = 38 if side == "RIGHT" else 42
    return {
        "brand": spec["brand"],
        "model": spec["model"],
        "french_size": Decimal(fr),
        "lumens": lumens,
        "vein": b.code("veins", b.pick(C["veins"]["PICC"])),
        "techniques": ["MST", "US", "ECG"] if ecg else ["MST", "US"],
        "insertion_length_cm": b.cm(base + rng.randint(0, 12) * 0.5),
        "external_length_cm": b.cm(rng.choice([0, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5])),
        "arm_circumference_cm": b.cm(rng.uniform(22, 32)),
        "tip_position": C["tip_cavoatrial"],
        "tip_confirmation": b.code("tip_confirmation", "ECG" if ecg else "XRAY"),
        "planned_dwell_days": rng.choice([120, 180, 180, 240, 365]),
        "lot_number": _lot(b, spec["lot"]),
    }


def _port(b: Builder, plan: Plan, side: str) -> Fields:
    rng = b.rng
    model = b.pick({i: m["weight"] for i, m in enumerate(C["port_models"])})
    spec = C["port_models"][model]
    site = spec["site"]
    vein = b.pick(C["veins"][f"PORT_{site}"])
    arm = None
    if site == "CHEST":
        side = b.code("sides", "RIGHT" if rng.random() < 0.85 else "LEFT")
        length = rng.uniform(13, 18)
    else:  # an upper-arm port: the arm is measured as for a PICC
        length = rng.uniform(36, 44)
        arm = b.cm(rng.uniform(22, 31))
    return {
        "side": side,
        "brand": spec["brand"],
        "model": spec["model"],
        "port_model": spec["port_model"],
        "french_size": Decimal(str(spec["french_size"])),
        "lumens": 1,
        "vein": b.code("veins", vein),
        "techniques": ["SELDINGER", "US"],
        "insertion_length_cm": b.cm(length),
        "arm_circumference_cm": arm,
        "tip_position": C["tip_cavoatrial"],
        "tip_confirmation": b.code("tip_confirmation", "XRAY"),
        "port_site": b.code("port_sites", site),
        "port_pocket": C["port_pocket"][site].format(side=b.d.label("sides", side)),
        "needle_gauge": b.pick(C["port_needle_gauges"]),
        "needle_length_cm": b.cm(rng.choice([1.9, 1.9, 2.5])),
        "port_in_use": plan.port_in_use,
        "planned_dwell_days": rng.choice([730, 1095]),
        "lot_number": _lot(b, spec["lot"]),
    }


def _cvc(b: Builder, plan: Plan, side: str) -> Fields:
    rng = b.rng
    spec = rng.choice(C["cvc_models"])
    vein = b.pick(C["veins"]["CVC"])
    tip = C["tip_cvc"]
    if vein == "FEMORAL":
        length, tip = rng.uniform(15, 20), C["tip_cvc_femoral"]
    elif vein == "SUBCLAVIAN":
        length = rng.uniform(13, 15)
    else:  # internal jugular: the left one is longer
        length = rng.uniform(12, 13.5) if side == "RIGHT" else rng.uniform(14, 16)
    return {
        "brand": spec["brand"],
        "model": spec["model"],
        "french_size": Decimal(spec["french_size"]),
        "lumens": spec["lumens"],
        "vein": b.code("veins", vein),
        "techniques": ["SELDINGER", "US"],
        "insertion_length_cm": b.cm(length),
        "tip_position": tip,
        "tip_confirmation": b.code("tip_confirmation", "XRAY"),
        "planned_dwell_days": rng.choice([7, 14, 21, 28]),
        "lot_number": _lot(b, spec["lot"]),
    }


def _midline(b: Builder, plan: Plan, side: str) -> Fields:
    rng = b.rng
    spec = rng.choice(C["midline_models"])
    return {
        "brand": spec["brand"],
        "model": spec["model"],
        "french_size": Decimal(spec["french_size"]),
        "lumens": spec["lumens"],
        "vein": b.code("veins", b.pick(C["veins"]["MIDLINE"])),
        "techniques": ["MST", "US"],
        "insertion_length_cm": b.cm(rng.uniform(15, 20)),
        "external_length_cm": b.cm(rng.choice([0, 0.5, 1, 2])),
        "arm_circumference_cm": b.cm(rng.uniform(22, 32)),
        "tip_position": C["tip_midline"],
        "planned_dwell_days": rng.choice([14, 21, 28]),
        "lot_number": f"ML{rng.randrange(100000, 1000000)}",
    }


_BY_DEVICE: dict[str, Callable[[Builder, Plan, str], Fields]] = {
    "PICC": _picc,
    "PORT": _port,
    "CVC": _cvc,
    "MIDLINE": _midline,
}
