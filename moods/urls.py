from django.urls import path

from moods import views
from moods.encouragement import views as encouragement_views
from moods.history import api as history_api
from moods.history import views as history_views
from moods.yourdata import views as yourdata_views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("history/", history_views.history, name="history"),
    path("history/data.json", history_views.history_data, name="history_data"),
    path("live/", views.live, name="live"),
    path("settings/", views.settings_page, name="settings"),
    path("encouragements/", encouragement_views.encouragements, name="encouragements"),
    path(
        "encouragements/<int:pk>/feedback/",
        encouragement_views.encouragement_feedback,
        name="encouragement_feedback",
    ),
    path("data/", yourdata_views.your_data, name="your_data"),
    path("data/export/", yourdata_views.export, name="export"),
    path("data/delete/", yourdata_views.delete_data, name="delete_data"),
    path("api/summary/today", history_api.summary_today, name="api_summary_today"),
]
