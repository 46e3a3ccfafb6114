import pytest

from config.errors import Conflict, InvalidInput, PermissionRefused
from measures import permissions, selectors, services
from measures.choices import ScopeKind, ScopeRole


def test_portfolio_is_the_only_root(admin_user, db):
    with pytest.raises(InvalidInput, match="needs a parent"):
        services.scope_create(name="Loose", kind=ScopeKind.PROGRAM, parent=None, by=admin_user)


@pytest.mark.parametrize(
    ("parent_attr", "kind"),
    [
        ("package", ScopeKind.PROGRAM),
        ("package", ScopeKind.PACKAGE),
        ("project", ScopeKind.PROGRAM),
        ("program", ScopeKind.PORTFOLIO),
        ("project", ScopeKind.PROJECT),
    ],
)
def test_a_scope_cannot_contain_a_higher_or_equal_level(tree, admin_user, parent_attr, kind):
    with pytest.raises(InvalidInput, match="cannot contain"):
        services.scope_create(name="X", kind=kind, parent=getattr(tree, parent_attr), by=admin_user)


def test_a_package_may_sit_directly_under_a_program(tree, admin_user):
    package = services.scope_create(name="Direct", kind=ScopeKind.PACKAGE, parent=tree.program, by=admin_user)
    assert package.path == f"{tree.program.path}{package.pk}/"


def test_moving_a_project_rewrites_the_whole_subtree(tree, admin_user):
    services.scope_update(scope=tree.project, by=admin_user, parent=tree.other_program, move=True)
    tree.package.refresh_from_db()
    assert tree.package.path.startswith(tree.other_program.path)
    assert tree.package.ancestor_ids == [
        tree.portfolio.pk,
        tree.other_program.pk,
        tree.project.pk,
        tree.package.pk,
    ]


def test_a_move_under_own_descendant_is_refused(tree, admin_user):
    with pytest.raises(InvalidInput):
        services.scope_update(scope=tree.program, by=admin_user, parent=tree.project, move=True)


def test_same_name_twice_under_one_parent_conflicts(tree, admin_user):
    with pytest.raises(Conflict, match="already exists"):
        services.scope_create(name="Failover", kind=ScopeKind.PACKAGE, parent=tree.project, by=admin_user)


def test_only_admin_or_program_manager_adds_scopes(tree, cast):
    with pytest.raises(PermissionRefused):
        services.scope_create(name="N", kind=ScopeKind.PACKAGE, parent=tree.project, by=cast["owner"])
    made = services.scope_create(name="N", kind=ScopeKind.PACKAGE, parent=tree.project, by=cast["pm"])
    assert made.parent == tree.project


def test_controller_of_a_program_is_controller_of_every_package_below(tree, cast):
    controller = cast["controller"]
    for scope in (tree.program, tree.project, tree.package, tree.sibling_package):
        assert permissions.has_scope_role(controller, scope, ScopeRole.CONTROLLER)
    assert not permissions.has_scope_role(controller, tree.other_package, ScopeRole.CONTROLLER)
    assert not permissions.has_scope_role(controller, tree.portfolio, ScopeRole.CONTROLLER)


def test_contributor_of_one_package_sees_nothing_of_a_sibling(tree, make_user):
    user = make_user("narrow", roles=[(tree.package, ScopeRole.CONTRIBUTOR)])
    visible = set(selectors.scope_list(user=user))
    assert visible == {tree.package}
    assert not permissions.can_see_scope(user, tree.sibling_package)


def test_leadership_sees_every_scope(tree, cast):
    assert selectors.scope_list(user=cast["leader"]).count() == 7


def test_users_with_scope_role_includes_inherited_holders(tree, cast):
    controllers = set(permissions.users_with_scope_role(tree.package, ScopeRole.CONTROLLER))
    assert controllers == {cast["controller"]}


def test_scope_tree_nests_visible_scopes(tree, cast):
    roots = selectors.scope_tree(user=cast["pm"])
    assert [node.scope for node in roots] == [tree.program]
    project = roots[0].children[0]
    assert {child.scope.name for child in project.children} == {"Failover", "Capacity"}


def test_a_scope_name_longer_than_a_line_is_refused_naming_the_field(admin_user, tree):
    with pytest.raises(InvalidInput) as refused:
        services.scope_create(name="x" * 201, kind="package", parent=tree.project, by=admin_user)
    assert "name" in refused.value.details
    with pytest.raises(InvalidInput) as refused:
        services.scope_update(scope=tree.package, by=admin_user, description="y" * 20_001)
    assert "description" in refused.value.details
