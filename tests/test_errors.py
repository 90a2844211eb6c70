import pytest

from backend.errors import plain_problem


@pytest.mark.parametrize(
    ("message", "field", "phrase"),
    [
        (
            "Expected `float | null`, got `str` - at `$.value`",
            None,
            "value must be a number, not text",
        ),
        (
            "Expected `str | null`, got `int`",
            "first_name",
            "first_name must be text, not a whole number",
        ),
        ("Expected `int`, got `null`", "capacity", "capacity must be a whole number, not null"),
        (
            "Expected `array`, got `str` - at `$.pool.agent_ids`",
            None,
            "pool.agent_ids must be a list, not text",
        ),
        ("Object missing required field `source`", None, "source is missing"),
        (
            "Object contains unknown field `shoe_size`",
            None,
            "shoe_size is not a field this request takes",
        ),
        (
            "Invalid RFC3339 encoded datetime - at `$.received_at`",
            None,
            "received_at must be a date and time such as 2026-03-01T09:30:00Z",
        ),
        ("Expected `str`, got `bool`", None, "the body must be text, not true or false"),
        ("Something else entirely", "name", "name: Something else entirely"),
        ("Something else entirely", None, "Something else entirely"),
    ],
)
def test_plain_problem_words_a_decoder_complaint_for_a_person(
    message: str, field: str | None, phrase: str
) -> None:
    assert plain_problem(message, field) == phrase
