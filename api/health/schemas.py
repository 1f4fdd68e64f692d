from marshmallow import fields

from api.health.rules import JobState
from api.schemas import Schema


class HealthSchema(Schema):
    status = fields.String()


class JobHealthSchema(Schema):
    name = fields.String(metadata={"description": "The job (scheduling/jobs.py)"})
    every_seconds = fields.Integer(metadata={"description": "How often it is meant to run"})
    state = fields.Enum(JobState, by_value=True, metadata={"description": "ok, running, late or never_ran"})
    late = fields.Boolean(metadata={"description": "No success within twice its interval, or never"})
    last_succeeded_at = fields.DateTime(allow_none=True)
    last_failed_at = fields.DateTime(allow_none=True)


class SchedulerHealthSchema(Schema):
    healthy = fields.Boolean(metadata={"description": "Every job ran within its expected interval"})
    jobs = fields.List(fields.Nested(JobHealthSchema))


class ReadinessSchema(Schema):
    ready = fields.Boolean()
    database = fields.String()
    migrations = fields.String()
    scheduler = fields.Nested(
        SchedulerHealthSchema,
        allow_none=True,
        metadata={
            "description": "The scheduler's jobs, from their heartbeats: a detail for dashboards, never part of "
            "`ready` (null when the database cannot tell)"
        },
    )
