from django.urls import path

from moods import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("api/summary/today", api.summary_today, name="api_summary_today"),
]
