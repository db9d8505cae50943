"""Predict, then observe: recording a prediction once, validating it, and measuring the answer
from the check's own invocations."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.test import Client

from lessons.loader import sync
from lessons.models import StepProgress
from lessons.predictions import measure
from sandbox.models import Invocation

pytestmark = pytest.mark.django_db


def inv(status="ok", cold=False, provisioned=False):
    return SimpleNamespace(status=status, cold=cold, provisioned=provisioned)


def test_measures_count_the_checks_own_invocations():
    batch = [inv(cold=True), inv(), inv(status="throttled"), inv(status="throttled", cold=True)]
    assert measure("cold", batch) == 1  # a throttled request never started an environment
    assert measure("warm", batch) == 1
    assert measure("throttled", batch) == 2
    assert measure("ran", batch) == 2


@pytest.fixture
def student():
    sync()
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.create_user(username="guest-ada"))
    assert client.get("/lessons/cold-starts/1/").status_code == 200
    return client


def predict(client, value):
    return client.post("/lessons/cold-starts/1/predict", {"prediction": value}, HTTP_HX_REQUEST="true")


def test_a_prediction_is_recorded_once_and_must_be_one_of_the_choices(student):
    assert "Pick one of the choices" in predict(student, "9").content.decode()
    assert "whole number" in predict(student, "three").content.decode()
    assert "Your prediction: <strong" in predict(student, "1").content.decode()
    predict(student, "2")
    row = StepProgress.objects.get(step__lesson__slug="cold-starts", step__number=1)
    assert row.prediction == 1  # the first prediction stands


def test_check_asks_for_the_prediction_first_and_runs_nothing(student):
    response = student.post("/lessons/cold-starts/1/check", HTTP_HX_REQUEST="true")
    assert "Make your prediction before the first Check" in response.content.decode()
    assert response["HX-Retarget"] == "#predict-box"
    row = StepProgress.objects.get(step__lesson__slug="cold-starts", step__number=1)
    assert row.attempts == 0 and not Invocation.objects.filter(function=row.function).exists()
