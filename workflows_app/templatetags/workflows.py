"""Template filters of the workflow pages."""
from __future__ import annotations

from django import template

from workflows_app.models import ActionType

register = template.Library()


@register.filter
def action_label(value: str) -> str:
    """`delay` -> "Wait"."""
    return ActionType(value).label if value in ActionType.values else str(value)
