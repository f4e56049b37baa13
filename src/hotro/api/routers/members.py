"""Members of the workspace (people; API service members are not listed)."""

from ninja import Router

from hotro.tenancy.access import access_membership
from hotro.tenancy.models import Membership

from .. import serialize
from ..auth import workspace_scoped
from ..schemas import ERRORS, MemberOut

router = Router(tags=["members"])


@router.get("", response={200: list[MemberOut], **ERRORS}, summary="List active members")
@workspace_scoped
def list_members(request):
    members = (
        Membership.objects.filter(
            workspace_id=request.auth.workspace_id, is_active=True, api_token__isnull=True
        )
        .select_related("user")
        .order_by("created_at", "id")
    )
    return [serialize.member(m) for m in members]


@router.get("/{member_id}", response={200: MemberOut, **ERRORS}, summary="Get a member")
@workspace_scoped
def get_member(request, member_id: str):
    return serialize.member(access_membership(request.auth.membership, member_id))
