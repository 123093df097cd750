"""Roles are Django groups with model permissions; this module is their single definition.

The groups are created and their permissions synced after every `migrate` (post_migrate, with the
migrated state's models), so permissions added by later apps reach the roles automatically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps as global_apps
from django.apps.registry import Apps

if TYPE_CHECKING:  # typing only: this module is imported while the app registry loads
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    User = AbstractBaseUser | AnonymousUser

ADMIN = "Admin"
MARKETER = "Marketer"
VIEWER = "Viewer"
ROLES = (ADMIN, MARKETER, VIEWER)

# Permission codenames per role ("app_label.codename"). "*" means every permission.
# A leading "view:" entry grants every view_* permission of that app.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    ADMIN: ("*",),
    MARKETER: (
        "view:customers",
        "view:segmentation",
        "view:campaigns",
        "view:core",
        "customers.add_customer",
        "customers.change_customer",
        "customers.import_customers",
        "customers.add_importjob",
        "segmentation.add_segmentation",
        "segmentation.change_segmentation",
        "segmentation.change_segment",
        "segmentation.edit_strategy",
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.export_audience",
        "customers.export_customers",
    ),
    VIEWER: (
        "view:customers",
        "view:segmentation",
        "view:campaigns",
    ),
}


def sync_roles(sender: object = None, *, apps: Apps = global_apps, using: str = "default", **kwargs: object) -> None:
    """Create the role groups if missing and set their permissions to ROLE_PERMISSIONS (a post_migrate receiver).

    `migrate` passes the migrated state's models as `apps`; `flush` sends none: the project's models then.
    """
    Group = apps.get_model("auth", "Group")  # noqa: N806 - a model class
    Permission = apps.get_model("auth", "Permission")  # noqa: N806 - a model class
    all_perms = Permission.objects.using(using).select_related("content_type")
    for role, spec in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for perm in all_perms:
            app = perm.content_type.app_label
            full = f"{app}.{perm.codename}"
            if "*" in spec or full in spec or (f"view:{app}" in spec and perm.codename.startswith("view_")):
                wanted.append(perm)
        group.permissions.set(wanted)


def user_role(user: User) -> str | None:
    """The strongest role the user holds (superusers are Admins), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    for role in ROLES:
        if role in names:
            return role
    return None


def is_admin(user: User) -> bool:
    return user_role(user) == ADMIN


def can_write(user: User) -> bool:
    """Marketers and Admins manage data, strategies and campaigns; Viewers only read."""
    return user_role(user) in (ADMIN, MARKETER)
