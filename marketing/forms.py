from django import forms

from .models import Topic


def topic_field_name(topic: Topic) -> str:
    return f"topic_{topic.code}"


class PreferencesForm(forms.Form):
    """One box per offered topic, ticked where the person is subscribed (or waiting to
    confirm)."""

    def __init__(self, *args, topics: list[Topic], language: str, subscribed: set[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.topics = topics
        for topic in topics:
            self.fields[topic_field_name(topic)] = forms.BooleanField(
                label=topic.name_for(language),
                help_text=topic.current_version.consent_text_for(language),
                required=False,
                initial=topic.pk in subscribed,
            )

    def wanted(self) -> dict[Topic, bool]:
        return {t: bool(self.cleaned_data.get(topic_field_name(t))) for t in self.topics}
