"""Text as the database can store it: PostgreSQL's text and jsonb types refuse the NUL
character, which JSON allows in any string (an event can carry one in a value, a property name
or its app version). What the matcher writes to the database, and quotes in unmatched records,
has it replaced by U+FFFD; the events themselves stay as they were in Kafka."""

REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    return text.replace("\x00", REPLACEMENT)
