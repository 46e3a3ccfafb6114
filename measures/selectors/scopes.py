"""Read queries of the governance core. Pages, the API, dashboards and PDFs use these."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from measures import permissions
from measures.models import Scope


def scope_list(*, user: AbstractBaseUser) -> QuerySet[Scope]:
    return permissions.visible_scopes(user).select_related("parent")


@dataclass
class ScopeNode:
    scope: Scope
    member_count: int
    children: list[ScopeNode] = field(default_factory=list)


def scope_tree(*, user: AbstractBaseUser) -> list[ScopeNode]:
    """The visible part of the tree as nested nodes, built from one query."""
    scopes = scope_list(user=user).annotate(member_count=Count("memberships", distinct=True))
    nodes: dict[int, ScopeNode] = {}
    roots: list[ScopeNode] = []
    for scope in scopes.order_by("path"):
        node = ScopeNode(scope=scope, member_count=scope.member_count)
        nodes[scope.pk] = node
        parent = nodes.get(scope.parent_id) if scope.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots
