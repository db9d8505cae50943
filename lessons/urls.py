from django.urls import path

from . import views

app_name = "lessons"

urlpatterns = [
    path("lessons/", views.lesson_list, name="list"),
    path("lessons/join", views.join_classroom, name="join"),
    path("lessons/<slug:slug>/", views.lesson_start, name="start"),
    path("lessons/<slug:slug>/<int:number>/", views.step_page, name="step"),
    path("lessons/<slug:slug>/<int:number>/playground", views.embedded_playground, name="playground"),
    path("lessons/<slug:slug>/<int:number>/check", views.check_step, name="check"),
    path("lessons/<slug:slug>/<int:number>/concurrency", views.step_concurrency, name="concurrency"),
    path("lessons/<slug:slug>/<int:number>/reset", views.step_reset, name="reset"),
    path("instructor/login", views.InstructorLogin.as_view(), name="instructor_login"),
    path("instructor/", views.instructor_home, name="instructor"),
    path("instructor/classrooms/<str:code>/", views.dashboard, name="dashboard"),
    path("instructor/classrooms/<str:code>/grid", views.dashboard_grid, name="dashboard_grid"),
    path("instructor/authoring/<str:dirname>/", views.authoring, name="authoring"),
    path("instructor/authoring/<str:dirname>/run", views.authoring_run, name="authoring_run"),
    path("demo/<slug:slug>/", views.demo, name="demo"),
    path("demo/<slug:slug>/metrics.json", views.demo_metrics, name="demo_metrics"),
]
