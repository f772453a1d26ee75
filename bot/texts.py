"""Everything the bot says, per language: Russian first, English second.

Templates use str.format fields; values are HTML-escaped by the caller (`t()` escapes
every keyword argument), so a headline with "<" never breaks a message.
"""

from __future__ import annotations

import html
from typing import Final

DEFAULT_LANGUAGE: Final = "ru"

RU: Final[dict[str, str]] = {
    "start": (
        "Здравствуйте! Я бот новостей: храню посты канала и показываю их здесь.\n"
        "Последние новости, самое читаемое, поиск, утренний дайджест и курсы валют — "
        "команды в /help."
    ),
    "help": (
        "<b>Команды</b>\n"
        "/latest [N] — последние новости\n"
        "/top — самое читаемое\n"
        "/search СЛОВА — поиск по новостям\n"
        "/follow СЛОВА — следить за темой, /following — мои темы\n"
        "/digest [дата] — обзор главных новостей\n"
        "/subscribe [ЧЧ:ММ] — получать дайджест каждое утро\n"
        "/unsubscribe — отписаться от дайджеста\n"
        "/rates [ГОРОД] — курсы тенге: Нацбанк и обменники\n"
        "/rates market [ГОРОД] — где выгоднее обменять\n"
        "/convert СУММА ВАЛЮТА [ВАЛЮТА] — конвертер"
    ),
    "help_admin": (
        "\n\n<b>Для администраторов</b>\n"
        "Перешлите мне пост канала — я его сохраню.\n"
        "/stats — статистика\n"
        "/delete — удалить пост (ответом на него или ссылкой)\n"
        "/senddigest — разослать дайджест подписчикам\n"
        "/mirror retry — повторить неудавшиеся копии в зеркала"
    ),
    "forward_created": "✅ Сохранено: «{headline}»",
    "forward_updated": "✏️ Обновлено: «{headline}»",
    "forward_unchanged": "☑️ Уже есть: «{headline}»",
    "forward_not_admin": (
        "Сохранять пересланные посты могут только администраторы бота. "
        "Новости можно читать командой /latest."
    ),
    "forward_not_channel": (
        "Это не пост канала, сохранить его нельзя. Перешлите сообщение прямо из канала."
    ),
    "error": "Что-то пошло не так. Попробуйте ещё раз чуть позже.",
    "unknown_command": "Не знаю такой команды. Список команд — /help.",
    "unknown_button": "Эта кнопка больше не работает. Список команд — /help.",
    "media_photo": "Фото",
    "media_video": "Видео",
    "media_animation": "GIF",
    "media_document": "Документ",
    "media_audio": "Аудио",
    "media_voice": "Голосовое сообщение",
    "media_video_note": "Видеосообщение",
    "media_sticker": "Стикер",
    "media_album": "Альбом",
    "media_none": "Пост без текста",
    "media_missing": "<i>Медиа этого поста в архиве недоступны.</i>",
    "menu_latest": "📰 Последние новости",
    "menu_top": "🔥 Самое читаемое",
    "menu_digest": "☀️ Дайджест",
    "menu_rates": "💱 Курсы валют",
    "menu_subscribe": "🔔 Подписаться",
    "menu_unsubscribe": "🔕 Отписаться",
    "latest_header": "📰 <b>Последние новости</b>",
    "latest_empty": "Новостей пока нет — загляните чуть позже.",
    "latest_bad_count": (
        "Укажите, сколько новостей показать: число от 1 до {max}. Например: /latest 10"
    ),
    "latest_capped": "Показываю не больше {max} новостей за раз.",
    "nav_older": "Старее ▶",
    "nav_newer": "◀ Новее",
    "page_gone": "Эта страница устарела. Откройте /latest заново.",
    "top_header_24h": "🔥 <b>Самое читаемое за сутки</b>",
    "top_header_7d": "🔥 <b>Самое читаемое за неделю</b>",
    "top_empty": "За этот период популярных новостей нет.",
    "top_bad_period": "Выберите период: /top 24h — за сутки, /top 7d — за неделю.",
    "top_counts": " · ❤️ {reactions} · 👁 {opens}",
    "post_not_found": "Не нашёл такой пост. Свежие новости — /latest.",
    "post_deleted": "Этот пост удалён из ленты.",
    "post_original": "🔗 Открыть в канале",
    "search_usage": "Напишите, что найти, например: /search ярмарка",
    "search_header": "🔎 <b>Поиск:</b> {query}",
    "search_empty": "По запросу «{query}» ничего не нашлось. Попробуйте другие слова.",
    "search_gone": "Этот поиск устарел — повторите /search.",
    # Topics a reader follows, and their alerts (bot/handlers/topics.py, services/alerts.py).
    "search_follow": "🔔 Следить",
    "follow_usage": (
        "Напишите тему — от одного до {max_words} слов, например: <code>/follow тарифы</code> "
        "или <code>/follow метро Алматы</code>. Как только выйдет пост, где есть все эти "
        "слова в любой форме, я пришлю его сюда.\n"
        "Ваши темы — /following, тихие часы — <code>/follow quiet on</code> или "
        "<code>/follow quiet off</code>."
    ),
    "follow_added": (
        "🔔 Слежу за темой <b>{topic}</b> (тем: {count} из {max}). Новые посты с этими словами "
        "придут сюда сразу после публикации."
    ),
    "follow_already": "Вы уже следите за темой <b>{topic}</b>. Ваши темы — /following.",
    "follow_limit": "Можно следить не больше чем за {max} темами. Уберите лишние — /following.",
    "follow_too_many_words": (
        "В теме может быть от 1 до {max_words} слов. Например: <code>/follow метро Алматы</code>"
    ),
    "follow_too_long": "Слишком длинная тема: не больше {max_chars} символов.",
    "follow_private_only": "Следить за темами можно в личном чате с ботом.",
    "following_empty": ("Вы пока ни за чем не следите. Добавить тему: <code>/follow тарифы</code>"),
    "following_header": "🔔 <b>Ваши темы</b> ({count} из {max}):",
    "following_item": "• {topic}",
    "following_footer": (
        "Тихие часы с 23:00 до 07:00: {state}. Кнопка под темой — перестать следить."
    ),
    "following_drop": "✖ {topic}",
    "unfollow_usage": (
        "Напишите, какую тему убрать, например: <code>/unfollow тарифы</code>. "
        "Или нажмите кнопку под списком тем — /following."
    ),
    "unfollow_done": "🔕 Больше не слежу за темой <b>{topic}</b>.",
    "unfollow_none": "Среди ваших тем нет <b>{topic}</b>. Ваши темы — /following.",
    "topic_dropped": "Больше не слежу за темой «{topic}».",
    "quiet_on": (
        "🌙 Тихие часы включены: с 23:00 до 07:00 уведомления копятся и приходят в 07:00 "
        "одним сообщением."
    ),
    "quiet_off": "🔔 Тихие часы выключены: уведомления приходят сразу, и ночью тоже.",
    "quiet_usage": (
        "Тихие часы с 23:00 до 07:00: {state}. <code>/follow quiet on</code> — включить, "
        "<code>/follow quiet off</code> — выключить."
    ),
    "quiet_state_on": "включены",
    "quiet_state_off": "выключены",
    "alert": '🔔 <b>{topics}</b>\n{emoji} <a href="{link}">{title}</a>\n<i>{meta}</i>',
    "alert_open": "📖 Открыть пост",
    "alert_night": "🌙 <b>За ночь по вашим темам: {count}</b>",
    "alert_night_item": (
        '{number}. {emoji} <a href="{link}">{title}</a>\n<i>{meta}</i> · <b>{topics}</b>'
    ),
    "alert_night_more": "…и ещё {count}. Найти их можно через /search.",
    "stats_topics": (
        "тем {topics}, следят читателей {readers}; уведомлений за сегодня {sent}, "
        "под вопросом {unknown}, ошибок {failed}, ждут {waiting}\nЧаще всего: {top}"
    ),
    "stats_topic": "{topic} — {count}",
    "nav_next": "Дальше ▶",
    "nav_prev": "◀ Назад",
    "cmd_start": "Начало",
    "cmd_help": "Все команды",
    "cmd_latest": "Последние новости",
    "cmd_top": "Самое читаемое",
    "cmd_search": "Поиск по новостям",
    "cmd_digest": "Обзор главных новостей",
    "cmd_subscribe": "Подписка на дайджест",
    "cmd_unsubscribe": "Отписаться от дайджеста",
    "cmd_rates": "Курсы тенге: Нацбанк и обменники",
    "cmd_convert": "Конвертер валют",
    "cmd_follow": "Следить за темой",
    "cmd_following": "Мои темы",
    "cmd_stats": "Статистика (админ)",
    "cmd_delete": "Удалить пост (админ)",
    "cmd_senddigest": "Разослать дайджест (админ)",
    "cmd_mirror": "/mirror retry — повторить неудавшиеся копии (админ)",
    "digest_header": "☀️ <b>Доброе утро! Предлагаем обзор главных новостей за {date}</b>",
    "digest_empty": "☀️ <b>Доброе утро!</b> За {date} важных новостей не было. Хорошего дня!",
    "digest_rates": "💱 Курсы Нацбанка: {rates}",
    "digest_bad_date": (
        "Не понял дату. Примеры: /digest 17.12, /digest 17.12.2023, /digest 2023-12-17, "
        "/digest вчера"
    ),
    "digest_future_date": "Этот день ещё не наступил — дайджеста за него пока нет.",
    "digest_old_date": "Так давно Telegram ещё не было. Дайджесты есть с 14.08.2013.",
    "subscribe_done": "🔔 Готово! Дайджест будет приходить каждый день в {time}.",
    "subscribe_changed": "🔔 Время дайджеста изменено: теперь в {time}.",
    "subscribe_same": "🔔 Вы уже подписаны: дайджест приходит в {time}.",
    "subscribe_tomorrow": " Первый придёт завтра.",
    "subscribe_bad_time": "Укажите время как ЧЧ:ММ, например: /subscribe 07:30",
    "unsubscribe_done": "🔕 Вы отписались от дайджеста. Вернуться — /subscribe.",
    "unsubscribe_none": "Вы не подписаны на дайджест. Подписаться — /subscribe.",
    "admin_only": "Эта команда только для администраторов бота.",
    "senddigest_confirm": (
        "Разослать дайджест за {date} всем активным подписчикам, кто его ещё не получил "
        "(сейчас подписчиков: {count})?"
    ),
    "senddigest_yes": "✅ Разослать",
    "senddigest_no": "Отмена",
    "senddigest_cancelled": "Рассылка отменена.",
    "senddigest_started": "📤 Рассылка началась…",
    "senddigest_progress": "📤 Рассылка: {done} из {total}…",
    "senddigest_done": (
        "📬 Рассылка завершена: отправлено {sent}, недоступны {gone}, ошибок {failed}."
    ),
    "senddigest_nobody": "📬 Все активные подписчики уже получили дайджест за {date}.",
    "stats": (
        "📊 <b>Статистика</b>\n\n"
        "<b>Посты:</b> всего {total}, за сегодня {today}\n"
        "По каналам: {channels}\n"
        "Как пришли: из канала {channel}, пересылкой {forward}, импортом {imported}\n\n"
        "<b>Подписчики:</b> активных {active}, неактивных {inactive}\n\n"
        "<b>Рассылки дайджеста:</b>\n{deliveries}\n\n"
        "<b>Курсы:</b> {rates}\n\n"
        "<b>Зеркало:</b> {mirror}\n\n"
        "<b>Темы:</b> {topics}"
    ),
    "stats_channel": "{title} — {count}",
    "stats_delivery": (
        "{day}: отправлено {sent}, ошибок {failed}, ждут {pending}, недоступны {gone}"
    ),
    "stats_none": "пока нет",
    "stats_rates_ok": "загружены {when}",
    "stats_rates_failed": "последняя попытка {when} не удалась ({error}); удачная — {last_ok}",
    "stats_rates_never": "ещё не загружались",
    "stats_mirror": (
        "скопировано {copied}, ждут {pending}, ошибок {failed}, под вопросом {unknown}, "
        "удалено {deleted}"
    ),
    "stats_mirror_failure": "пост {post} → {chat}: {error}",
    "stats_mirror_off": "не настроено (MIRROR_CHAT_IDS)",
    "delete_usage": (
        "Укажите пост: ответьте командой /delete на пересланный пост или пришлите ссылку, "
        "например: /delete https://t.me/kz_news/123"
    ),
    "delete_not_found": "Такого поста нет в базе.",
    "delete_confirm": "Удалить пост «{headline}» из ленты бота и из зеркал?",
    "delete_yes": "🗑 Удалить",
    "delete_no": "Отмена",
    "delete_done": "🗑 Пост «{headline}» удалён из ленты; копии в зеркалах удаляются.",
    "delete_already": "Этот пост уже удалён.",
    "delete_cancelled": "Удаление отменено.",
    "mirror_usage": "Команда зеркала: /mirror retry — повторить неудавшиеся копии.",
    "mirror_retry_done": "🔁 Повторю копирование: {count}.",
    # Exchange rates: /rates, /rates chart, /convert (bot/handlers/rates.py).
    "rates_title": "<b>Курсы тенге</b> — Нацбанк РК, на {date}",
    "rates_line": "{flag}{quant} {code} = <b>{rate} ₸</b>  {change}",
    "rates_missing": "{code}: курса на эту дату нет",
    "rates_footer": "Конвертер: /convert 100 usd · график: /rates chart usd 90",
    "rates_stale": (
        "⚠️ Сайт Нацбанка сейчас не отвечает. Это последние сохранённые курсы — на {date}; "
        "они могут быть устаревшими."
    ),
    "rates_unavailable": (
        "😔 Не удалось получить курсы: сайт Нацбанка не отвечает, а сохранённых курсов "
        "пока нет. Попробуйте чуть позже."
    ),
    "rates_usage": (
        "Не знаю валюту «{word}». Например: /rates — основные курсы, "
        "<code>/rates cny gbp</code> — выбранные, <code>/rates chart usd 90</code> — график."
    ),
    "convert_empty": (
        "Напишите сумму и валюту, например:\n"
        "<code>/convert 100 usd</code>\n"
        "<code>/convert 5000 тенге в рублях</code>\n"
        "<code>/convert 100 eur usd</code>"
    ),
    "convert_not_amount": (
        "Не понял сумму в «{text}». Напишите число и валюту, например: "
        "<code>/convert 1 000,50 eur</code>"
    ),
    "convert_ambiguous": (
        "«{text}» — это тысячи или дробь? Напишите, например, "
        "<code>/convert 1000 usd</code> или <code>/convert 1,00 usd</code>"
    ),
    "convert_not_positive": (
        "Сумма должна быть больше нуля. Например: <code>/convert 100 usd</code>"
    ),
    "convert_too_large": (
        "Слишком большая сумма: конвертирую до 1 000 000 000 000. "
        "Например: <code>/convert 100 usd</code>"
    ),
    "convert_no_currency": (
        "Какая валюта? Например: <code>/convert {text} usd</code> или "
        "<code>/convert {text} тенге в рублях</code>"
    ),
    "convert_unknown_currency": (
        "Не знаю валюту «{text}». Напишите код или название, например: "
        "<code>/convert 100 usd</code> или <code>/convert 100 долларов в рублях</code>"
    ),
    "convert_not_quoted": (
        "Нацбанк РК не публикует курс {code}. Например: <code>/convert 100 usd</code>\n"
        "Есть курсы: {codes}"
    ),
    "convert_too_many": (
        "Укажите не больше двух валют — из какой и в какую. "
        "Например: <code>/convert 100 eur в рублях</code>"
    ),
    "convert_result": "{amount} {source} = <b>{result} {target}</b>",
    "convert_rates_used": "По курсу Нацбанка РК на {date}: {rates}",
    "chart_usage": (
        "График курса: <code>/rates chart [валюта] [30|90|365]</code>, например "
        "<code>/rates chart usd 90</code>"
    ),
    "chart_no_history": (
        "Для графика {code} пока мало данных (сохранено дней: {days}). Администратор может "
        "загрузить историю: <code>python -m bot rates backfill 01.01.2026 31.03.2026</code>"
    ),
    "chart_title": "{quant} {code} в тенге, {days} дней",
    "chart_axis": "₸ за {quant} {code}",
    # Exchange offices' market rates (bot/services/market/, bot/handlers/rates.py).
    "market_line": " · обменники {buy} / {sell}",
    "market_source": (
        "🏦 Обменники — {city}: покупка / продажа, медиана по {offices} обменникам "
        "({source}), котировки на {time}"
    ),
    "market_stale": (
        "⚠️ {source} сейчас не отвечает: курсы обменников — последние сохранённые, на {time}."
    ),
    "market_unavailable": (
        "ℹ️ Курсов обменников ({city}) сейчас нет: {source} не отвечает или не даёт свежих "
        "котировок."
    ),
    "market_title": "🏦 <b>Обменники — {city}</b>: где выгоднее ({source}, котировки на {time})",
    "market_currency": (
        "{flag}<b>{code}</b>: покупка {buy} / продажа {sell} ₸ (медиана по {offices} обменникам)"
    ),
    "market_best_buy": "   💰 продать: {name} — <b>{price} ₸</b>{address}",
    "market_best_sell": "   🛒 купить: {name} — <b>{price} ₸</b>{address}",
    "market_missing": "{code}: обменники его сейчас не котируют",
    "market_none": (
        "😔 Курсов обменников ({city}) сейчас нет: {source} не отвечает или не даёт свежих "
        "котировок. Курс Нацбанка — /rates."
    ),
    "market_footer": "Другой город — кнопками ниже или <code>/rates Астана</code>",
    "market_button": "🏦 Где выгоднее",
    "market_rates_button": "💱 Все курсы",
    "market_unknown_city": (
        "Не знаю город «{word}». Курсы обменников есть для городов: {cities}. "
        "Например: <code>/rates market {example}</code>"
    ),
    "rates_unknown_word": (
        "Не знаю валюту или город «{word}». Города: {cities}. Например: "
        "<code>/rates {example}</code>, <code>/rates cny gbp</code>, "
        "<code>/rates market</code>, <code>/rates chart usd 90</code>."
    ),
    "digest_market": "💵 {rates} — обменники, {city} ({source})",
    "convert_market_pays": (
        "🏦 Обменник купит {amount} {source} за <b>{pays} ₸</b>, продаст за <b>{asks} ₸</b>"
    ),
    "convert_market_tenge": (
        "🏦 В обменнике на {amount} ₸ купите <b>{buys} {target}</b>; "
        "{amount} ₸ выручите, продав <b>{sells} {target}</b>"
    ),
    "convert_market_cross": (
        "🏦 В обменнике через тенге: {amount} {source} = <b>{result} {target}</b>"
    ),
    "convert_market_used": "Обменники — {city} ({source}), медианы на {time}: {rates}",
    "chart_official": "Нацбанк",
    "chart_market_buy": "Обменники, покупка ({city})",
    "chart_market_sell": "Обменники, продажа ({city})",
    "chart_market_caption": "Обменники ({city}, {source}): покупка {buy} ₸ / продажа {sell} ₸",
    "city_almaty": "Алматы",
    "city_astana": "Астана",
    "city_shymkent": "Шымкент",
    "city_karaganda": "Караганда",
    "city_aktobe": "Актобе",
    "city_pavlodar": "Павлодар",
    "city_oskemen": "Усть-Каменогорск",
    "city_atyrau": "Атырау",
    "chart_caption": (
        "{quant} {code} в тенге с {first_date} по {last_date}\n"
        "Первый: {first} ₸ · последний: {last} ₸\n"
        "Мин: {min} ₸ ({min_date}) · макс: {max} ₸ ({max_date})"
    ),
}

EN: Final[dict[str, str]] = {
    "start": (
        "Hello! I am a news bot: I keep the channel's posts and show them here.\n"
        "Latest news, most read, search, the morning digest and exchange rates — "
        "see /help."
    ),
    "help": (
        "<b>Commands</b>\n"
        "/latest [N] — latest news\n"
        "/top — most read\n"
        "/search WORDS — search the news\n"
        "/follow WORDS — follow a topic, /following — your topics\n"
        "/digest [date] — the day's top stories\n"
        "/subscribe [HH:MM] — get the digest every morning\n"
        "/unsubscribe — stop the digest\n"
        "/rates [CITY] — tenge rates: National Bank and exchange offices\n"
        "/rates market [CITY] — the best exchange offices\n"
        "/convert AMOUNT CUR [CUR] — currency converter"
    ),
    "help_admin": (
        "\n\n<b>For admins</b>\n"
        "Forward me a channel post to store it.\n"
        "/stats — statistics\n"
        "/delete — delete a post (reply to it or give its link)\n"
        "/senddigest — send the digest to subscribers\n"
        "/mirror retry — try failed mirror copies again"
    ),
    "forward_created": "✅ Saved: “{headline}”",
    "forward_updated": "✏️ Updated: “{headline}”",
    "forward_unchanged": "☑️ Already there: “{headline}”",
    "forward_not_admin": (
        "Only the bot's admins can store forwarded posts. Read the news with /latest."
    ),
    "forward_not_channel": (
        "This is not a channel post, so it can't be stored. Forward a message straight "
        "from a channel."
    ),
    "error": "Something went wrong. Please try again a little later.",
    "unknown_command": "I don't know that command. See /help.",
    "unknown_button": "This button no longer works. See /help.",
    "media_photo": "Photo",
    "media_video": "Video",
    "media_animation": "GIF",
    "media_document": "Document",
    "media_audio": "Audio",
    "media_voice": "Voice message",
    "media_video_note": "Video message",
    "media_sticker": "Sticker",
    "media_album": "Album",
    "media_none": "Post without text",
    "media_missing": "<i>This post's media are not available in the archive.</i>",
    "menu_latest": "📰 Latest news",
    "menu_top": "🔥 Most read",
    "menu_digest": "☀️ Digest",
    "menu_rates": "💱 Exchange rates",
    "menu_subscribe": "🔔 Subscribe",
    "menu_unsubscribe": "🔕 Unsubscribe",
    "latest_header": "📰 <b>Latest news</b>",
    "latest_empty": "No news yet — check back a little later.",
    "latest_bad_count": (
        "Say how many posts to show: a number from 1 to {max}. For example: /latest 10"
    ),
    "latest_capped": "Showing at most {max} posts at a time.",
    "nav_older": "Older ▶",
    "nav_newer": "◀ Newer",
    "page_gone": "This page is out of date. Open /latest again.",
    "top_header_24h": "🔥 <b>Most read in the last 24 hours</b>",
    "top_header_7d": "🔥 <b>Most read this week</b>",
    "top_empty": "No popular posts in this period.",
    "top_bad_period": "Choose a period: /top 24h for a day, /top 7d for a week.",
    "top_counts": " · ❤️ {reactions} · 👁 {opens}",
    "post_not_found": "I couldn't find that post. Latest news: /latest.",
    "post_deleted": "This post was removed from the feed.",
    "post_original": "🔗 Open in the channel",
    "search_usage": "Tell me what to find, for example: /search fair",
    "search_header": "🔎 <b>Search:</b> {query}",
    "search_empty": "Nothing found for “{query}”. Try other words.",
    "search_gone": "This search is out of date — run /search again.",
    # Topics a reader follows, and their alerts (bot/handlers/topics.py, services/alerts.py).
    "search_follow": "🔔 Follow",
    "follow_usage": (
        "Send a topic of one to {max_words} words, for example: <code>/follow тарифы</code> "
        "or <code>/follow метро Алматы</code>. As soon as a post with all of these words, "
        "in any form, is published, I will send it here.\n"
        "Your topics: /following; quiet hours: <code>/follow quiet on</code> or "
        "<code>/follow quiet off</code>."
    ),
    "follow_added": (
        "🔔 Following <b>{topic}</b> ({count} of {max} topics). New posts with these words "
        "will come here as soon as they are published."
    ),
    "follow_already": "You already follow <b>{topic}</b>. Your topics: /following.",
    "follow_limit": "You can follow at most {max} topics. Drop some first: /following.",
    "follow_too_many_words": (
        "A topic has 1 to {max_words} words. For example: <code>/follow метро Алматы</code>"
    ),
    "follow_too_long": "That topic is too long: {max_chars} characters at most.",
    "follow_private_only": "Topics can be followed in a private chat with the bot.",
    "following_empty": "You follow no topics yet. Add one: <code>/follow тарифы</code>",
    "following_header": "🔔 <b>Your topics</b> ({count} of {max}):",
    "following_item": "• {topic}",
    "following_footer": "Quiet hours 23:00–07:00: {state}. A topic's button stops following it.",
    "following_drop": "✖ {topic}",
    "unfollow_usage": (
        "Say which topic to drop, for example: <code>/unfollow тарифы</code>, "
        "or press its button under your topics: /following."
    ),
    "unfollow_done": "🔕 No longer following <b>{topic}</b>.",
    "unfollow_none": "<b>{topic}</b> is not one of your topics. Your topics: /following.",
    "topic_dropped": "No longer following “{topic}”.",
    "quiet_on": (
        "🌙 Quiet hours are on: from 23:00 to 07:00 alerts wait and come at 07:00 as one message."
    ),
    "quiet_off": "🔔 Quiet hours are off: alerts come at once, at night too.",
    "quiet_usage": (
        "Quiet hours 23:00–07:00: {state}. <code>/follow quiet on</code> turns them on, "
        "<code>/follow quiet off</code> off."
    ),
    "quiet_state_on": "on",
    "quiet_state_off": "off",
    "alert": '🔔 <b>{topics}</b>\n{emoji} <a href="{link}">{title}</a>\n<i>{meta}</i>',
    "alert_open": "📖 Open the post",
    "alert_night": "🌙 <b>Overnight on your topics: {count}</b>",
    "alert_night_item": (
        '{number}. {emoji} <a href="{link}">{title}</a>\n<i>{meta}</i> · <b>{topics}</b>'
    ),
    "alert_night_more": "…and {count} more. /search finds them.",
    "stats_topics": (
        "{topics} topics, {readers} readers following; alerts today: {sent} sent, "
        "{unknown} in doubt, {failed} failed, {waiting} waiting\nMost followed: {top}"
    ),
    "stats_topic": "{topic} — {count}",
    "nav_next": "Next ▶",
    "nav_prev": "◀ Back",
    "cmd_start": "Start",
    "cmd_help": "All commands",
    "cmd_latest": "Latest news",
    "cmd_top": "Most read",
    "cmd_search": "Search the news",
    "cmd_digest": "The day's top stories",
    "cmd_subscribe": "Subscribe to the digest",
    "cmd_unsubscribe": "Unsubscribe from the digest",
    "cmd_rates": "Tenge rates: National Bank and exchange offices",
    "cmd_convert": "Currency converter",
    "cmd_follow": "Follow a topic",
    "cmd_following": "Your topics",
    "cmd_stats": "Statistics (admin)",
    "cmd_delete": "Delete a post (admin)",
    "cmd_senddigest": "Send the digest (admin)",
    "cmd_mirror": "/mirror retry — try failed mirror copies again (admin)",
    "digest_header": "☀️ <b>Good morning! Here are the top stories of {date}</b>",
    "digest_empty": "☀️ <b>Good morning!</b> There was no major news on {date}. Have a good day!",
    "digest_rates": "💱 National Bank rates: {rates}",
    "digest_bad_date": (
        "I didn't understand the date. Examples: /digest 17.12, /digest 17.12.2023, "
        "/digest 2023-12-17, /digest yesterday"
    ),
    "digest_future_date": "That day hasn't come yet, so there is no digest for it.",
    "digest_old_date": "Telegram did not exist back then. Digests start on 14.08.2013.",
    "subscribe_done": "🔔 Done! The digest will arrive every day at {time}.",
    "subscribe_changed": "🔔 Digest time changed: now at {time}.",
    "subscribe_same": "🔔 You are already subscribed: the digest arrives at {time}.",
    "subscribe_tomorrow": " The first one comes tomorrow.",
    "subscribe_bad_time": "Give the time as HH:MM, for example: /subscribe 07:30",
    "unsubscribe_done": "🔕 You have unsubscribed from the digest. To come back: /subscribe.",
    "unsubscribe_none": "You are not subscribed to the digest. Subscribe: /subscribe.",
    "admin_only": "This command is only for the bot's admins.",
    "senddigest_confirm": (
        "Send the digest of {date} to every active subscriber who has not had it "
        "(subscribers now: {count})?"
    ),
    "senddigest_yes": "✅ Send",
    "senddigest_no": "Cancel",
    "senddigest_cancelled": "Sending cancelled.",
    "senddigest_started": "📤 Sending…",
    "senddigest_progress": "📤 Sending: {done} of {total}…",
    "senddigest_done": "📬 Done: sent {sent}, unreachable {gone}, failed {failed}.",
    "senddigest_nobody": "📬 Every active subscriber already has the digest of {date}.",
    "stats": (
        "📊 <b>Statistics</b>\n\n"
        "<b>Posts:</b> {total} in all, {today} today\n"
        "By channel: {channels}\n"
        "Arrived: from channels {channel}, forwarded {forward}, imported {imported}\n\n"
        "<b>Subscribers:</b> {active} active, {inactive} inactive\n\n"
        "<b>Digest deliveries:</b>\n{deliveries}\n\n"
        "<b>Rates:</b> {rates}\n\n"
        "<b>Mirror:</b> {mirror}\n\n"
        "<b>Topics:</b> {topics}"
    ),
    "stats_channel": "{title} — {count}",
    "stats_delivery": "{day}: sent {sent}, failed {failed}, waiting {pending}, unreachable {gone}",
    "stats_none": "none yet",
    "stats_rates_ok": "fetched {when}",
    "stats_rates_failed": "last attempt {when} failed ({error}); last success {last_ok}",
    "stats_rates_never": "not fetched yet",
    "stats_mirror": (
        "copied {copied}, waiting {pending}, failed {failed}, in doubt {unknown}, deleted {deleted}"
    ),
    "stats_mirror_failure": "post {post} → {chat}: {error}",
    "stats_mirror_off": "not set up (MIRROR_CHAT_IDS)",
    "delete_usage": (
        "Say which post: reply /delete to a forwarded post, or give its link, for example: "
        "/delete https://t.me/kz_news/123"
    ),
    "delete_not_found": "There is no such post in the database.",
    "delete_confirm": "Delete the post “{headline}” from the bot's feed and the mirrors?",
    "delete_yes": "🗑 Delete",
    "delete_no": "Cancel",
    "delete_done": (
        "🗑 The post “{headline}” is removed from the feed; its copies are being deleted."
    ),
    "delete_already": "This post is already deleted.",
    "delete_cancelled": "Deletion cancelled.",
    "mirror_usage": "Mirror command: /mirror retry — try failed copies again.",
    "mirror_retry_done": "🔁 Copies to try again: {count}.",
    # Exchange rates: /rates, /rates chart, /convert (bot/handlers/rates.py).
    "rates_title": "<b>Tenge exchange rates</b> — National Bank of Kazakhstan, {date}",
    "rates_line": "{flag}{quant} {code} = <b>{rate} ₸</b>  {change}",
    "rates_missing": "{code}: no rate for this date",
    "rates_footer": "Converter: /convert 100 usd · chart: /rates chart usd 90",
    "rates_stale": (
        "⚠️ The National Bank's site is not answering. These are the last stored rates, "
        "for {date}; they may be out of date."
    ),
    "rates_unavailable": (
        "😔 Sorry, rates are not available: the National Bank's site is not answering and "
        "no rates are stored yet. Please try again a little later."
    ),
    "rates_usage": (
        "I don't know the currency “{word}”. For example: /rates — the main rates, "
        "<code>/rates cny gbp</code> — the ones you choose, <code>/rates chart usd 90</code> "
        "— a chart."
    ),
    "convert_empty": (
        "Send an amount and a currency, for example:\n"
        "<code>/convert 100 usd</code>\n"
        "<code>/convert 5000 kzt to rub</code>\n"
        "<code>/convert 100 eur usd</code>"
    ),
    "convert_not_amount": (
        "I couldn't find an amount in “{text}”. Send a number and a currency, for example: "
        "<code>/convert 1000.50 eur</code>"
    ),
    "convert_ambiguous": (
        "Is “{text}” thousands or a fraction? Write, for example, "
        "<code>/convert 1000 usd</code> or <code>/convert 1.00 usd</code>"
    ),
    "convert_not_positive": (
        "The amount must be more than zero. For example: <code>/convert 100 usd</code>"
    ),
    "convert_too_large": (
        "That amount is too large: I convert up to 1,000,000,000,000. "
        "For example: <code>/convert 100 usd</code>"
    ),
    "convert_no_currency": (
        "Which currency? For example: <code>/convert {text} usd</code> or "
        "<code>/convert {text} kzt to rub</code>"
    ),
    "convert_unknown_currency": (
        "I don't know the currency “{text}”. Use a code or a name, for example: "
        "<code>/convert 100 usd</code> or <code>/convert 100 dollars to rub</code>"
    ),
    "convert_not_quoted": (
        "The National Bank of Kazakhstan does not publish a rate for {code}. "
        "For example: <code>/convert 100 usd</code>\nRates available: {codes}"
    ),
    "convert_too_many": (
        "Name at most two currencies: from and to. "
        "For example: <code>/convert 100 eur to rub</code>"
    ),
    "convert_result": "{amount} {source} = <b>{result} {target}</b>",
    "convert_rates_used": "At the National Bank of Kazakhstan rate for {date}: {rates}",
    "chart_usage": (
        "Rate chart: <code>/rates chart [currency] [30|90|365]</code>, for example "
        "<code>/rates chart usd 90</code>"
    ),
    "chart_no_history": (
        "Not enough data for a {code} chart yet ({days} days stored). An admin can load the "
        "history: <code>python -m bot rates backfill 01.01.2026 31.03.2026</code>"
    ),
    "chart_title": "{quant} {code} in tenge, {days} days",
    "chart_axis": "₸ per {quant} {code}",
    # Exchange offices' market rates (bot/services/market/, bot/handlers/rates.py).
    "market_line": " · exchange offices {buy} / {sell}",
    "market_source": (
        "🏦 Exchange offices — {city}: buy / sell, median of {offices} offices ({source}), "
        "quotes as of {time}"
    ),
    "market_stale": (
        "⚠️ {source} is not answering: the exchange offices' rates are the last stored, "
        "as of {time}."
    ),
    "market_unavailable": (
        "ℹ️ No exchange office rates for {city} right now: {source} is not answering or has "
        "no fresh quotes."
    ),
    "market_title": (
        "🏦 <b>Exchange offices — {city}</b>: the best deals ({source}, quotes as of {time})"
    ),
    "market_currency": (
        "{flag}<b>{code}</b>: buy {buy} / sell {sell} ₸ (median of {offices} offices)"
    ),
    "market_best_buy": "   💰 sell at: {name} — <b>{price} ₸</b>{address}",
    "market_best_sell": "   🛒 buy at: {name} — <b>{price} ₸</b>{address}",
    "market_missing": "{code}: no exchange office quotes it right now",
    "market_none": (
        "😔 No exchange office rates for {city} right now: {source} is not answering or has "
        "no fresh quotes. The National Bank's rates: /rates."
    ),
    "market_footer": "Another city: the buttons below or <code>/rates Astana</code>",
    "market_button": "🏦 Best deals",
    "market_rates_button": "💱 All rates",
    "market_unknown_city": (
        "I don't know the city “{word}”. Exchange office rates are there for: {cities}. "
        "For example: <code>/rates market {example}</code>"
    ),
    "rates_unknown_word": (
        "I don't know the currency or city “{word}”. Cities: {cities}. For example: "
        "<code>/rates {example}</code>, <code>/rates cny gbp</code>, "
        "<code>/rates market</code>, <code>/rates chart usd 90</code>."
    ),
    "digest_market": "💵 {rates} — exchange offices, {city} ({source})",
    "convert_market_pays": (
        "🏦 An exchange office pays <b>{pays} ₸</b> for {amount} {source} and asks <b>{asks} ₸</b>"
    ),
    "convert_market_tenge": (
        "🏦 At an exchange office {amount} ₸ buys <b>{buys} {target}</b>; selling "
        "<b>{sells} {target}</b> brings {amount} ₸"
    ),
    "convert_market_cross": (
        "🏦 At an exchange office, through the tenge: {amount} {source} = <b>{result} {target}</b>"
    ),
    "convert_market_used": "Exchange offices — {city} ({source}), medians as of {time}: {rates}",
    "chart_official": "National Bank",
    "chart_market_buy": "Exchange offices, buy ({city})",
    "chart_market_sell": "Exchange offices, sell ({city})",
    "chart_market_caption": "Exchange offices ({city}, {source}): buy {buy} ₸ / sell {sell} ₸",
    "city_almaty": "Almaty",
    "city_astana": "Astana",
    "city_shymkent": "Shymkent",
    "city_karaganda": "Karaganda",
    "city_aktobe": "Aktobe",
    "city_pavlodar": "Pavlodar",
    "city_oskemen": "Oskemen",
    "city_atyrau": "Atyrau",
    "chart_caption": (
        "{quant} {code} in tenge from {first_date} to {last_date}\n"
        "First: {first} ₸ · last: {last} ₸\n"
        "Min: {min} ₸ ({min_date}) · max: {max} ₸ ({max_date})"
    ),
}

LANGUAGES: Final[dict[str, dict[str, str]]] = {"ru": RU, "en": EN}


def language_of(code: str | None) -> str:
    """The bot's language for a Telegram language_code: English for en*, else Russian."""
    if code and code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang`, with every value HTML-escaped."""
    template = LANGUAGES.get(lang, RU)[key]
    if not values:
        return template
    # A lone surrogate a reader typed ("\ud800" in the update's JSON) cannot go out as
    # UTF-8: echoed back, it becomes "?".
    return template.format(
        **{
            k: html.escape(str(v).encode("utf-8", "replace").decode(), quote=False)
            for k, v in values.items()
        }
    )


def plain(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang` without escaping: for pieces that are passed on to `t()`,
    which escapes them once."""
    return LANGUAGES.get(lang, RU)[key].format(**values)
