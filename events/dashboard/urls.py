from django.urls import path, re_path

from . import views

app_name = "dashboard"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("groups/<int:pk>/", views.group_detail, name="group"),
    path("groups/<int:pk>/draft/", views.draft, name="draft"),
    path("replays/", views.replay_list, name="replays"),
    path("replays/new/", views.start_replay, name="start_replay"),
    path("replays/<int:pk>/", views.replay_detail, name="replay"),
    re_path(r"^export\.(?P<fmt>jsonl|csv)$", views.export, name="export"),
]
