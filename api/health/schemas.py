from marshmallow import fields

from api.schemas import Schema


class HealthSchema(Schema):
    status = fields.String()


class ReadinessSchema(Schema):
    ready = fields.Boolean()
    database = fields.String()
    migrations = fields.String()
