"""Settings of the bot: every variable of the outside contract, read once at start.

Values come from the environment and from `.env` in the working directory. Invalid values
are refused with the variable's name, so an operator sees what to fix before anything runs.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_USERNAME_RE = re.compile(r"^@?([A-Za-z][A-Za-z0-9_]{3,31})$")
_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})$")

#: Telegram's limit on bulk messages: 30 in any second, a 31st is answered 429.
TELEGRAM_MESSAGES_PER_SECOND = 30
#: The highest SEND_RATE accepted. At a steady pace of r a second, 31 messages span 30/r
#: seconds: at 30 exactly one second, so the least jitter between when the bot sends and
#: when Telegram counts puts a 31st within a second, and each 429 pauses every sender. At
#: 29.5 they span 1.017 s, 17 ms of slack. Measured with bench/delivery.py's sender against
#: the fake Bot API's limit (900 digests over loopback): 29.5 drew no 429; 29.9 (3 ms of
#: slack) drew 11 and delivered 22 a second, 30 drew 29 and delivered 15.
MAX_SEND_RATE = 29.5


def _split(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def parse_hhmm(value: str) -> time:
    """`08:00` -> time(8, 0); raises ValueError with a readable reason otherwise."""
    match = _HHMM_RE.match(value.strip())
    if not match:
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day (hours 00-23, minutes 00-59)")
    return time(hour, minute)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=False,
        extra="ignore",
    )

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///data/bot.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Channel ids as ints (-100…) and usernames lowercased without "@".
    source_channels: Annotated[list[int | str], NoDecode] = Field(default_factory=list)
    mirror_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    timezone: ZoneInfo = ZoneInfo("Asia/Almaty")
    digest_time: time = time(8, 0)
    rates_url: str = "https://nationalbank.kz/rss/rates_all.xml"
    rates_currencies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["USD", "EUR", "RUB"]
    )
    rates_history_url: str = "https://nationalbank.kz/rss/get_rates.cfm?fdate={date}"
    rates_cache_seconds: int = Field(default=1800, ge=0)
    market_rates_url: str = "https://kurs.kz/site/index?city={city}"
    market_cities: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["almaty", "astana", "shymkent"]
    )
    market_max_age_hours: float = Field(default=12, gt=0, le=24 * 7)
    market_rates_cache_seconds: int = Field(default=600, ge=0)
    digest_catchup_hours: float = Field(default=3, ge=0, le=23)
    send_rate: float = Field(default=29, gt=0)
    mirror_forwards: bool = False
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("bot_token", mode="after")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator(
        "telegram_api_url", "rates_url", "rates_history_url", "market_rates_url", mode="after"
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value.rstrip("/") if "{" not in value else value

    @field_validator("database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        if value.startswith("postgresql://") and len(value) > len("postgresql://"):
            return value
        if not value.startswith("sqlite:///") or len(value) <= len("sqlite:///"):
            raise ValueError(
                "expected sqlite:///path/to/bot.db or postgresql://user@host:port/db, "
                f"got {value!r}"
            )
        return value

    @field_validator("admin_ids", "mirror_chat_ids", mode="before")
    @classmethod
    def _int_list(cls, value: object) -> list[int]:
        result = []
        for part in _split(value):
            try:
                result.append(int(part))
            except ValueError:
                raise ValueError(f"expected comma-separated numeric ids, got {part!r}") from None
        return result

    @field_validator("source_channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> list[int | str]:
        result: list[int | str] = []
        for part in _split(value):
            if re.fullmatch(r"-?\d+", part):
                result.append(int(part))
                continue
            match = _USERNAME_RE.match(part)
            if not match:
                raise ValueError(f"expected a channel id like -100123 or @username, got {part!r}")
            result.append(match[1].lower())
        return result

    @field_validator("rates_currencies", mode="before")
    @classmethod
    def _currencies(cls, value: object) -> list[str]:
        codes = [part.upper() for part in _split(value)]
        for code in codes:
            if not re.fullmatch(r"[A-Z]{3}", code):
                raise ValueError(f"expected three-letter currency codes, got {code!r}")
        return codes

    @field_validator("market_rates_url", mode="after")
    @classmethod
    def _has_city(cls, value: str) -> str:
        if "{city}" not in value:
            # Without it every city would read the same page and show the same numbers.
            raise ValueError(f"expected {{city}} in the URL, got {value!r}")
        return value

    @field_validator("market_cities", mode="before")
    @classmethod
    def _cities(cls, value: object) -> list[str]:
        cities = [part.lower() for part in _split(value)]
        for city in cities:
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", city):
                raise ValueError(
                    f"expected cities as the source names them (almaty, astana), got {city!r}"
                )
        if not cities:
            raise ValueError("expected at least one city, e.g. almaty,astana,shymkent")
        if len(set(cities)) != len(cities):
            raise ValueError(f"a city is listed twice: {','.join(cities)}")
        return cities

    @field_validator("timezone", mode="before")
    @classmethod
    def _zone(cls, value: object) -> ZoneInfo:
        if isinstance(value, ZoneInfo):
            return value
        try:
            return ZoneInfo(str(value).strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            # OSError: a name that is a folder of the tz database ("Europe"), not a zone.
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Almaty"
            ) from None

    @field_validator("digest_time", mode="before")
    @classmethod
    def _hhmm(cls, value: object) -> time:
        if isinstance(value, time):
            return value
        return parse_hhmm(str(value))

    @field_validator("send_rate", mode="after")
    @classmethod
    def _under_telegram_limit(cls, value: float) -> float:
        if value > MAX_SEND_RATE:
            raise ValueError(
                f"{value:g} messages a second trips Telegram's limit of "
                f"{TELEGRAM_MESSAGES_PER_SECOND} (every 429 pauses all sending); "
                f"use at most {MAX_SEND_RATE:g}"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and not self.webhook_secret:
            raise ValueError(
                "WEBHOOK_SECRET is required when WEBHOOK_URL is set, so that only Telegram "
                "can post updates to the bot"
            )
        return self

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith("postgresql://")

    @property
    def database_path(self) -> Path:
        """sqlite:///data/bot.db is relative; sqlite:////var/lib/bot.db is absolute."""
        if self.uses_postgres:
            raise ValueError("DATABASE_URL is PostgreSQL's, not a SQLite file")
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def database(self) -> Path | str:
        """What Storage.open takes: the SQLite file's path, or PostgreSQL's URL."""
        return self.database_url if self.uses_postgres else self.database_path

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admin_ids


_MISSING_TOKEN = """\
BOT_TOKEN is not set.

Create a bot with @BotFather in Telegram (/newbot), copy the token it gives you
and put it in a .env file next to where you run the bot:

    BOT_TOKEN=123456789:AA...

or export it in the environment. .env.example lists every other setting."""


def describe_errors(error: ValidationError) -> str:
    """Turn a validation error into lines an operator can act on, one per variable."""
    lines = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        if name == "BOT_TOKEN" and (item["type"] == "missing" or not item.get("input")):
            return _MISSING_TOKEN
        message = str(item["msg"]).removeprefix("Value error, ")
        if not name:
            lines.append(message)
        else:
            lines.append(f"{name}: {message}")
    return "Invalid settings:\n" + "\n".join(f"  - {line}" for line in lines)
