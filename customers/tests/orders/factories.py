"""Small order files in the shapes the import reads (Online Retail, CDNOW, usual names)."""

from __future__ import annotations

import gzip
from pathlib import Path

ONLINE_RETAIL_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"
ONLINE_RETAIL = ONLINE_RETAIL_HEADER + (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\r\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\r\n"
    "536365,POST,POSTAGE,1,12/1/2010 8:26,18.00,17850,United Kingdom\r\n"
    "C536379,D,Discount,-1,12/1/2010 9:41,27.50,14527,United Kingdom\r\n"
    "536380,22961,JAM MAKING SET PRINTED,-24,12/1/2010 9:41,1.45,,United Kingdom\r\n"
    "536381,22139,RETROSPOT TEA SET CERAMIC 11 PC,2,12/1/2010 9:41,4.95,15311,France\r\n"
)
CDNOW = (
    " 00004 0001 19970101  2   29.33\r\n"
    " 00004 0001 19970118  2   29.73\r\n"
    " 00004 0001 19970118  1   14.96\r\n"
    " 00018 0002 19970101  1   13.97\r\n"
)


def order_file(tmp_path: Path, text: str | bytes, name: str = "orders.csv", *, gz: bool = False) -> Path:
    path = tmp_path / name
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
