"""Personalisation tokens: only plain `{{ object.property }}`, known ones, substituted and never evaluated."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sequences_app.tokens import (
    is_token_name,
    token_value,
    tokens_check,
    tokens_in,
    tokens_missing,
    tokens_render,
    tokens_validate_fields,
)
from tests.factories import CompanyFactory, ContactFactory


def nothing_custom(obj: str, prop: str) -> bool:
    return False


def problems(text: str) -> list[str]:
    return [problem.text for problem in tokens_check(text, custom_property_exists=nothing_custom)]


def test_plain_tokens_are_found_once_each_in_order_of_first_use():
    text = "Hi {{ contact.first_name }}, {{company.name}} and {{  sender.email  }} — {{ contact.first_name }}"

    assert tokens_in(text) == ["contact.first_name", "company.name", "sender.email"]


def test_text_without_tokens_has_none():
    assert tokens_in("") == []
    assert tokens_in(None) == []  # type: ignore[arg-type]
    assert tokens_in("{ contact.first_name }") == []


@pytest.mark.parametrize(
    "text",
    [
        "Hi {{ contact.first_name }}",
        "{{ contact.full_name }} at {{ company.name }} ({{ company.domain }})",
        "{{ sender.first_name }} {{ sender.last_name }} <{{ sender.email }}>",
        "{{ contact.job_title }} {{ contact.phone }} {{ contact.lifecycle_stage }} {{ contact.email }}",
        "No tokens at all, {not even} this",
    ],
)
def test_standard_tokens_are_accepted(text):
    assert problems(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.first_name|upper }}",
        "{{ contact.first_name | default:'there' }}",
        "{{ contact.first_name.__class__ }}",
        "{{ contact }}",
        "{{ CONTACT.first_name }}",
        "{{ settings.SECRET_KEY }}",
        "{{ request.user.password }}",
        "{% load static %}",
        "{% if contact.first_name %}x{% endif %}",
        "{# a comment #}",
        "{{\ncontact.first_name\n|safe }}",
    ],
)
def test_anything_but_a_plain_token_is_refused(text):
    assert problems(text)


def test_each_bad_token_is_reported_with_its_text():
    found = tokens_check("{{ contact.first_name }} {{ x.y }} {% now %}", custom_property_exists=nothing_custom)

    assert [p.text for p in found] == ["{{ x.y }}", "{% now %}"]
    assert all(p.message for p in found)


def test_an_unknown_standard_property_is_refused():
    assert problems("{{ contact.shoe_size }}") == ["{{ contact.shoe_size }}"]
    assert problems("{{ company.ceo }}") == ["{{ company.ceo }}"]


def test_sender_tokens_are_only_the_standard_ones_whatever_exists():
    assert tokens_check("{{ sender.password }}", custom_property_exists=lambda obj, prop: True)


@pytest.mark.django_db
def test_a_custom_contact_property_is_known_once_some_contact_has_it():
    fields = {"body": "Enjoying {{ contact.favourite_band }}?"}
    assert "body" in tokens_validate_fields(fields)

    ContactFactory(properties={"favourite_band": "Nightwish"})

    assert tokens_validate_fields(fields) == {}


@pytest.mark.django_db
def test_a_custom_company_property_is_known_once_some_company_has_it():
    fields = {"subject": "{{ company.industry }} news"}
    assert "subject" in tokens_validate_fields(fields)

    CompanyFactory(properties={"industry": "Shipping"})

    assert tokens_validate_fields(fields) == {}


@pytest.mark.django_db
def test_validate_fields_names_each_field_with_its_problems():
    errors = tokens_validate_fields(
        {"steps.0.subject": "{{ contact.first_name }}", "steps.0.body_html": "{{ a.b }} and {% x %}"}
    )

    assert list(errors) == ["steps.0.body_html"]
    assert len(errors["steps.0.body_html"]) == 2
    assert errors["steps.0.body_html"][0].startswith("{{ a.b }}")


@pytest.mark.django_db
def test_validate_fields_asks_the_database_once_per_custom_property(django_assert_num_queries):
    with django_assert_num_queries(1):
        tokens_validate_fields({"a": "{{ contact.x1 }}", "b": "{{ contact.x1 }} {{ contact.x1 }}"})


def person(**fields: object) -> SimpleNamespace:
    base = {"first_name": "", "last_name": "", "email": "", "properties": {}}
    return SimpleNamespace(**{**base, **fields})


def test_token_values_come_from_the_records():
    contact = person(first_name="Aino", last_name="Virtanen", properties={"band": "Nightwish", "size": 42})
    company = SimpleNamespace(name="Acme", domain="acme.example", properties={})
    sender = person(first_name="Rep", email="rep@nudge.example")

    def value(token: str) -> str:
        return token_value(token, contact=contact, company=company, sender=sender)

    assert value("contact.first_name") == "Aino"
    assert value("contact.full_name") == "Aino Virtanen"
    assert value("contact.band") == "Nightwish"
    assert value("contact.size") == "42"
    assert value("contact.missing") == ""
    assert value("company.name") == "Acme"
    assert value("sender.email") == "rep@nudge.example"


def test_a_contact_without_a_company_has_empty_company_tokens():
    assert token_value("company.name", contact=person(), company=None, sender=person()) == ""


def test_missing_tokens_are_the_ones_without_a_value():
    assert tokens_missing(["contact.first_name", "company.name"], {"contact.first_name": "Aino"}) == ["company.name"]
    assert tokens_missing(["contact.first_name"], {"contact.first_name": ""}) == ["contact.first_name"]


def test_rendering_escapes_values_in_html_bodies():
    values = {"contact.first_name": '<img src=x onerror="alert(1)">'}

    rendered = tokens_render("<p>Hi {{ contact.first_name }}</p>", values, html_escape=True)

    assert rendered == "<p>Hi &lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"


def test_rendering_leaves_subjects_unescaped():
    values = {"company.name": "Smith & Sons <UK>"}

    assert tokens_render("News for {{ company.name }}", values, html_escape=False) == "News for Smith & Sons <UK>"


def test_rendering_never_evaluates_anything():
    text = "{{ ''.__class__ }} {% load static %} {{ contact.first_name|upper }} {{ settings.SECRET_KEY }}"

    assert tokens_render(text, {"contact.first_name": "aino"}, html_escape=False) == text


def test_a_value_that_looks_like_a_token_is_not_rendered_again():
    values = {"contact.first_name": "{{ sender.email }}", "sender.email": "rep@nudge.example"}

    assert tokens_render("Hi {{ contact.first_name }}", values, html_escape=False) == "Hi {{ sender.email }}"


def test_a_token_without_a_value_renders_empty():
    assert tokens_render("Hi {{ contact.first_name }}!", {}, html_escape=True) == "Hi !"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("contact.first_name", True), ("company.name", True), (" contact.first_name", False), ("x.y", False)],
)
def test_token_names_are_recognised(name, expected):
    assert is_token_name(name) is expected
