from django import template

register = template.Library()


@register.filter
def person(user) -> str:
    """A person's display name: full name, else username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.username
