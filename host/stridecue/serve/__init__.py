"""Review on the phone: `stridecue serve`, a small web app over the runs (the last stage: it
imports review, record, coach and live's status feed; nothing imports it)."""
