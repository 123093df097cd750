from core.roles import ADMIN, MARKETER, user_role


def roles(request):
    role = user_role(getattr(request, "user", None))
    return {
        "user_role": role,
        "is_admin_role": role == ADMIN,
        "can_write": role in (ADMIN, MARKETER),
    }
