"""Which column of an order file feeds which field: header aliases (Online Retail, CDNOW and the usual
names), the user's `--map SOURCE=FIELD` overrides and `--columns NAME,-,...` for files without a header
row. Pure, no database. Header matching reuses the customer import's normalising.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.exceptions import DataError
from customers.imports.columns import header_normalize, mapping_apply

#: The fields of an order line, in the order the summary and the docs list them.
ORDER_FIELDS = (
    "order_id",
    "customer_id",
    "ordered_at",
    "product_code",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "country",
)
SKIP = "-"

# Normalised header -> field.
ORDER_HEADER_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "invoiceno",
            "invoice",
            "invoiceid",
            "invoicenumber",
            "orderid",
            "order",
            "orderno",
            "ordernumber",
            "transactionid",
            "transaction",
            "receiptid",
            "basketid",
        ],
        "order_id",
    ),
    **dict.fromkeys(
        [
            "customerid",
            "customer",
            "customerno",
            "customernumber",
            "clientid",
            "client",
            "userid",
            "buyerid",
            "externalid",
        ],
        "customer_id",
    ),
    **dict.fromkeys(
        [
            "invoicedate",
            "date",
            "orderdate",
            "orderedat",
            "datetime",
            "timestamp",
            "transactiondate",
            "purchasedate",
            "time",
            "createdat",
        ],
        "ordered_at",
    ),
    **dict.fromkeys(
        ["stockcode", "sku", "productid", "productcode", "product", "itemid", "item", "itemcode", "articleid", "code"],
        "product_code",
    ),
    **dict.fromkeys(["description", "productname", "itemname", "productdescription", "name"], "description"),
    **dict.fromkeys(["quantity", "qty", "numberofcds", "units", "count", "numberofitems"], "quantity"),
    **dict.fromkeys(["unitprice", "price", "unitcost", "priceeach", "itemprice"], "unit_price"),
    **dict.fromkeys(
        ["amount", "dollarvalue", "total", "value", "revenue", "linetotal", "sales", "totalprice", "lineamount"],
        "amount",
    ),
    **dict.fromkeys(["country", "countrycode"], "country"),
}


@dataclass(frozen=True)
class OrderPlan:
    """Column index per field; `headers` are the file's (or the --columns names)."""

    headers: tuple[str, ...]
    fields: dict[str, int]

    def header_of(self, field_name: str) -> str:
        return self.headers[self.fields[field_name]]

    def as_mapping(self) -> dict[str, str]:
        return {self.headers[i]: f for f, i in self.fields.items()}


def field_for(name: str) -> str | None:
    """The field a header or a --columns name stands for (a field name itself, or an alias)."""
    if name in ORDER_FIELDS:
        return name
    return ORDER_HEADER_ALIASES.get(header_normalize(name))


def columns_parse(text: str) -> list[str]:
    """`customer_id,-,date,quantity,amount` -> the names, each a field, an alias or '-' (skip)."""
    names = [n.strip() for n in text.split(",")]
    if not names or any(not n for n in names):
        raise DataError(f"--columns: expected names separated by commas, '-' to skip a column; got {text!r}")
    for name in names:
        if name != SKIP and field_for(name) is None:
            raise DataError(
                f"--columns: {name!r} is not a field; use one of {', '.join(ORDER_FIELDS)} (or '-' to skip)"
            )
    return names


def order_plan(headers: list[str], overrides: dict[str, str] | None = None, *, named: bool = False) -> OrderPlan:
    """Map headers to fields (aliases, then overrides) and check the file has what an order line needs.

    `named`: the headers are the user's --columns names ('-' skips a column).
    """
    headers = [str(h).strip() or f"column_{i + 1}" for i, h in enumerate(headers)]
    fields: dict[str, int] = {}
    for index, header in enumerate(headers):
        if named and header == SKIP:
            continue
        target = field_for(header)
        if target is None:
            continue
        if target in fields:
            raise DataError(
                f"columns {headers[fields[target]]!r} and {header!r} both look like {target}; choose one with "
                f'--map "{header}={target}"'
            )
        fields[target] = index
    mapping_apply(fields, headers=headers, overrides=overrides, allowed=ORDER_FIELDS)
    listed = ", ".join(repr(h) for h in headers)
    if "customer_id" not in fields:
        raise DataError(
            f"no customer column: none of the columns ({listed}) is a customer id (CustomerID, customer_id, "
            'Customer). Say which with --map "HEADER=customer_id" (or --columns for a file without a header row)'
        )
    if "ordered_at" not in fields:
        raise DataError(
            f"no date column: none of the columns ({listed}) is an order date (InvoiceDate, date, order_date). "
            'Say which with --map "HEADER=ordered_at"'
        )
    if "amount" not in fields and not ("quantity" in fields and "unit_price" in fields):
        raise DataError(
            f"no amount: the file needs an amount column (amount, total, dollar_value) or quantity and unit "
            f"price columns (Quantity and UnitPrice); its columns are {listed}"
        )
    return OrderPlan(headers=tuple(headers), fields=fields)
