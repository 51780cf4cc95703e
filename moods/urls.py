from django.urls import path

from moods import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("history/", views.history, name="history"),
    path("history/data.json", views.history_data, name="history_data"),
    path("live/", views.live, name="live"),
    path("settings/", views.settings_page, name="settings"),
    path("encouragements/", views.encouragements, name="encouragements"),
    path("encouragements/<int:pk>/feedback/", views.encouragement_feedback, name="encouragement_feedback"),
    path("data/", views.your_data, name="your_data"),
    path("data/export/", views.export, name="export"),
    path("data/delete/", views.delete_data, name="delete_data"),
    path("api/summary/today", api.summary_today, name="api_summary_today"),
]
