"""The service's own figures for Prometheus, read from the database when scraped. Labels are
stage numbers only: no agency, person or child is named."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from database.tables import Delivery, Escalation
from database.worker_health import seconds_unseen


@dataclass
class Gauge:
    name: str
    help: str
    samples: list[tuple[dict[str, str], float]]


async def _open_by_stage(db: AsyncSession, *, overdue: bool) -> list[tuple[dict[str, str], float]]:
    query = (
        select(Escalation.stage, func.count())
        .where(Escalation.status == "open")
        .group_by(col(Escalation.stage))
        .order_by(col(Escalation.stage))
    )
    if overdue:
        query = query.where(col(Escalation.overdue).is_(True))
    return [({"stage": str(stage)}, float(count)) for stage, count in await db.exec(query)]


async def gauges(db: AsyncSession, task_queue: str) -> list[Gauge]:
    failed = (
        await db.exec(select(func.count()).select_from(Delivery).where(Delivery.status == "failed"))
    ).one()
    unseen = await seconds_unseen(db, task_queue)
    return [
        Gauge(
            "escalations_open",
            "Open escalations, by stage.",
            await _open_by_stage(db, overdue=False),
        ),
        Gauge(
            "escalations_overdue",
            "Open escalations past their top stage's time limit, by stage.",
            await _open_by_stage(db, overdue=True),
        ),
        Gauge(
            "notifications_failed",
            "Notifications whose delivery failed for good.",
            [({}, float(failed))],
        ),
        Gauge(
            "worker_last_seen_seconds",
            "Seconds since a worker of the task queue was last seen (its heartbeat); absent if "
            "none ever was.",
            [] if unseen is None else [({}, round(unseen, 3))],
        ),
    ]


def exposition(found: list[Gauge]) -> str:
    """The Prometheus text format (version 0.0.4)."""
    lines: list[str] = []
    for gauge in found:
        lines += [f"# HELP {gauge.name} {gauge.help}", f"# TYPE {gauge.name} gauge"]
        for labels, value in gauge.samples:
            label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            lines.append(
                f"{gauge.name}{{{label_text}}} {value:g}" if labels else f"{gauge.name} {value:g}"
            )
    return "\n".join(lines) + "\n"
