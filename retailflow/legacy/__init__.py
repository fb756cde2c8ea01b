"""The legacy monolith's database, during the strangler-fig migration: only inventory writes here."""
