"""Roles are Django groups with model permissions; this module is their single definition.

Groups are created by a migration (core 0002) and their permissions are synced after every
`migrate` (post_migrate), so permissions added by later apps reach the roles automatically.
"""

from __future__ import annotations

from typing import Any

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
        "segmentation.change_segment",
        "segmentation.edit_strategy",
        "campaigns.add_campaign",
        "campaigns.change_campaign",
        "campaigns.export_audience",
    ),
    VIEWER: (
        "view:customers",
        "view:segmentation",
        "view:campaigns",
    ),
}


def sync_roles(sender: Any = None, **kwargs: Any) -> None:
    """Create the role groups if missing and set their permissions to ROLE_PERMISSIONS."""
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
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


def user_role(user: Any) -> str | None:
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


def is_admin(user: Any) -> bool:
    return user_role(user) == ADMIN


def can_write(user: Any) -> bool:
    """Marketers and Admins manage data, strategies and campaigns; Viewers only read."""
    return user_role(user) in (ADMIN, MARKETER)
