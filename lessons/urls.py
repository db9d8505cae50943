from django.urls import path

from lessons.views import authoring, classroom, demo, student

app_name = "lessons"

urlpatterns = [
    path("lessons/", student.lesson_list, name="list"),
    path("lessons/join", student.join_classroom, name="join"),
    path("lessons/<slug:slug>/", student.lesson_start, name="start"),
    path("lessons/<slug:slug>/<int:number>/", student.step_page, name="step"),
    path("lessons/<slug:slug>/<int:number>/playground", student.embedded_playground, name="playground"),
    path("lessons/<slug:slug>/<int:number>/begin", student.begin_step, name="begin"),
    path("lessons/<slug:slug>/<int:number>/check", student.check_step, name="check"),
    path("lessons/<slug:slug>/<int:number>/concurrency", student.step_concurrency, name="concurrency"),
    path("lessons/<slug:slug>/<int:number>/reset", student.step_reset, name="reset"),
    path("lessons/<slug:slug>/<int:number>/hint", student.step_hint, name="hint"),
    path("lessons/<slug:slug>/<int:number>/predict", student.step_predict, name="predict"),
    path("instructor/login", classroom.InstructorLogin.as_view(), name="instructor_login"),
    path("instructor/", classroom.instructor_home, name="instructor"),
    path("instructor/classrooms/<str:code>/", classroom.dashboard, name="dashboard"),
    path("instructor/classrooms/<str:code>/grid", classroom.dashboard_grid, name="dashboard_grid"),
    path("instructor/classrooms/<str:code>/progress.csv", classroom.progress_csv, name="progress_csv"),
    path("instructor/classrooms/<str:code>/reset", classroom.reset_progress, name="reset_progress"),
    path("instructor/authoring/<str:dirname>/", authoring.authoring, name="authoring"),
    path("instructor/authoring/<str:dirname>/run", authoring.authoring_run, name="authoring_run"),
    path("demo/<slug:slug>/", demo.demo, name="demo"),
    path("demo/<slug:slug>/metrics.json", demo.demo_metrics, name="demo_metrics"),
]
