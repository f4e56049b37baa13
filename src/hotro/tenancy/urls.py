"""URL routes of hotro.tenancy, mounted at ``/settings/`` (workspace settings, admins and owners)."""

from django.urls import path

from . import views

urlpatterns = [
    path("<slug:slug>/", views.settings_home, name="settings_home"),
    path("<slug:slug>/workspace/", views.workspace_settings, name="settings_workspace"),
    path("<slug:slug>/members/", views.members, name="settings_members"),
    path("<slug:slug>/members/<uuid:member_id>/role/", views.member_role, name="settings_member_role"),
    path("<slug:slug>/members/<uuid:member_id>/remove/", views.member_remove, name="settings_member_remove"),
    path("<slug:slug>/invitations/", views.invitation_create, name="settings_invite"),
    path(
        "<slug:slug>/invitations/<uuid:invitation_id>/resend/",
        views.invitation_resend,
        name="settings_invitation_resend",
    ),
    path(
        "<slug:slug>/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="settings_invitation_revoke",
    ),
    path("<slug:slug>/teams/", views.teams, name="settings_teams"),
    path("<slug:slug>/teams/<uuid:team_id>/", views.team_detail, name="settings_team"),
    path("<slug:slug>/teams/<uuid:team_id>/delete/", views.team_delete, name="settings_team_delete"),
    path("<slug:slug>/teams/<uuid:team_id>/members/", views.team_member_add, name="settings_team_member_add"),
    path(
        "<slug:slug>/teams/<uuid:team_id>/members/<uuid:member_id>/remove/",
        views.team_member_remove,
        name="settings_team_member_remove",
    ),
]
