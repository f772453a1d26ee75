"""Exchange offices' market rates: what they pay and ask for a currency, per city.

- `sources.py`: what a source gives (offices and their quotes) and its interface;
- `kurskz.py`: the kurs.kz page's parser (another source goes in a module beside it);
- `compute.py`: which quotes count, outliers, the medians and the best offices;
- `cities.py`: MARKET_CITIES as readers type them;
- `service.py`: fetching, caching, storing and the fallback to stored rates.
"""

from bot.services.market.cities import city_slug
from bot.services.market.compute import market_rate, market_rates
from bot.services.market.service import MarketService, MarketSnapshot, MarketUnavailable
from bot.services.market.sources import MarketSource, Office, Quote, SourceError

__all__ = [
    "MarketService",
    "MarketSnapshot",
    "MarketSource",
    "MarketUnavailable",
    "Office",
    "Quote",
    "SourceError",
    "city_slug",
    "market_rate",
    "market_rates",
]
