from django.urls import path

from moods import views
from moods.encouragement import views as encouragement_views
from moods.history import views as history_views
from moods.personal import views as personal_views
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
    path("settings/baseline/forget/", personal_views.forget_baseline, name="forget_baseline"),
    path("settings/baseline/corrections/", personal_views.baseline_corrections, name="baseline_corrections"),
    path("self-report/", personal_views.self_report, name="self_report"),
    path("history/windows/<int:pk>/correct/", personal_views.correct_window, name="correct_window"),
    path("data/", yourdata_views.your_data, name="your_data"),
    path("data/export/", yourdata_views.export, name="export"),
    path("data/delete/", yourdata_views.delete_data, name="delete_data"),
]
