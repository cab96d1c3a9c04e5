"""The one catalogue of words the dashboards and display boards show: Vietnamese, then English.

Pages show ``vi`` alone where space is short (boards) and ``"vi / en"`` elsewhere; nothing
user-facing is spelled outside this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from alerts import Severity
from telemetry import QCFlag

__all__ = ["FLAG_KEYS", "MESSAGES", "SEVERITY_KEYS", "Message", "both", "vi"]


@dataclass(frozen=True, slots=True)
class Message:
    """One piece of user-facing text."""

    vi: str
    en: str

    @property
    def both(self) -> str:
        """Vietnamese first, English second."""
        return f"{self.vi} / {self.en}"


SEVERITY_KEYS: Final = MappingProxyType(
    {
        Severity.ADVISORY: "severity_1",
        Severity.WARNING: "severity_2",
        Severity.CRITICAL: "severity_3",
    }
)
"""The catalogue key of each alert tier's name."""

MESSAGES: Final = MappingProxyType(
    {
        # Kiên Giang was merged into An Giang on 1 July 2025: the public sees the current name.
        "app": Message("AquaWatch An Giang", "AquaWatch An Giang"),
        "overview": Message("Tổng quan các trạm", "Station overview"),
        "map": Message("Bản đồ trạm quan trắc", "Monitoring stations"),
        "coast_note": Message(
            "Đường bờ biển vẽ gần đúng, không dùng bản đồ nền",
            "Coastline approximate, no map tiles",
        ),
        "tiles_note": Message(
            "Bản đồ nền: máy chủ bản đồ đã cấu hình", "Base map: the configured tile server"
        ),
        "longitude": Message("Kinh độ", "Longitude"),
        "latitude": Message("Vĩ độ", "Latitude"),
        "station": Message("Trạm", "Station"),
        "stations": Message("Các trạm", "Stations"),
        "status": Message("Trạng thái", "Status"),
        "worst_alert": Message("Cảnh báo nặng nhất", "Worst open alert"),
        "quality": Message("Chất lượng dữ liệu", "Data quality"),
        "last_reading": Message("Lần đo cuối", "Last reading"),
        "forwarding": Message("Chuyển tiếp dữ liệu lên trên", "Forwarding upstream"),
        "receiver": Message("Nơi nhận", "Receiver"),
        "forward_lag": Message("Chậm so với số liệu mới nhất", "Behind the newest reading"),
        "last_sent": Message("Gửi lần cuối", "Last sent"),
        "last_error": Message("Lỗi gần nhất", "Last error"),
        "open_alerts": Message("Cảnh báo đang mở", "Open alerts"),
        "rule": Message("Quy tắc", "Rule"),
        "severity": Message("Mức độ", "Severity"),
        "state": Message("Tình trạng", "State"),
        "opened_at": Message("Mở lúc", "Opened at"),
        "value": Message("Giá trị", "Value"),
        "acknowledge": Message("Xác nhận", "Acknowledge"),
        "resolve": Message("Đóng cảnh báo", "Resolve"),
        "acknowledged": Message("Đã xác nhận", "Acknowledged"),
        "resolved": Message("Đã đóng", "Resolved"),
        "note": Message("Ghi chú (bắt buộc khi đóng)", "Note (required to resolve)"),
        "pick_alert": Message("Chọn một cảnh báo trong bảng", "Pick an alert in the table"),
        "login": Message("Đăng nhập", "Log in"),
        "logout": Message("Đăng xuất", "Log out"),
        "username": Message("Tên đăng nhập", "User name"),
        "password": Message("Mật khẩu", "Password"),
        "login_needed": Message(
            "Đăng nhập để xem số liệu và xử lý cảnh báo",
            "Log in to see the data and handle alerts",
        ),
        "login_for_alerts": Message(
            "Cán bộ: đăng nhập để xem và xử lý cảnh báo",
            "Officers: log in to see and handle alerts",
        ),
        "alerts_need_login": Message(
            "Danh sách cảnh báo và việc xác nhận, đóng cảnh báo chỉ dành cho cán bộ đã đăng nhập.",
            "Alert lists, acknowledging and resolving are for logged-in officers.",
        ),
        "session_expired": Message(
            "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại",
            "Your session has expired, please log in again",
        ),
        "latest_values": Message("Giá trị mới nhất", "Latest values"),
        "parameter": Message("Thông số", "Parameter"),
        "unit": Message("Đơn vị", "Unit"),
        "measured_at": Message("Thời điểm đo", "Measured at"),
        "public_note": Message(
            "Màu trạm: xanh dương đang hoạt động, xám ngoại tuyến hoặc mất kết nối;"
            " viền: chất lượng dữ liệu",
            "Station colour: blue online, grey offline or disconnected; outline: data quality",
        ),
        "local_time": Message("Giờ địa phương", "Local time"),
        "range_24h": Message("24 giờ", "24 h"),
        "range_7d": Message("7 ngày", "7 d"),
        "range_30d": Message("30 ngày", "30 d"),
        "range_custom": Message("Tùy chọn", "Custom"),
        "from": Message("Từ", "From"),
        "to": Message("Đến", "To"),
        "show": Message("Xem", "Show"),
        "mean": Message("Trung bình", "Mean"),
        "min_max": Message("Thấp nhất - cao nhất", "Min - max"),
        "flag_good": Message("Tốt", "Good"),
        "flag_unknown": Message("Chưa kiểm tra", "Not yet checked"),
        "flag_suspect": Message("Nghi ngờ", "Suspect"),
        "flag_fail": Message("Lỗi", "Failed"),
        "flag_missing": Message("Không có số liệu", "No data"),
        "alert_marker": Message("Cảnh báo", "Alert"),
        **{
            key: Message(severity.label("vi"), severity.label("en"))
            for severity, key in SEVERITY_KEYS.items()
        },
        "no_alert": Message("Bình thường", "Normal"),
        "what_if": Message("Thử ngưỡng mới trên số liệu đã qua", "Try a new limit on past data"),
        "what_if_hint": Message(
            "Chọn quy tắc, nhập ngưỡng muốn thử (để trống: giữ nguyên) và xem các cảnh báo"
            " nó đã gây ra; chưa có gì được áp dụng",
            "Pick a rule, enter the limits to try (blank: unchanged) and see the alerts they"
            " would have raised; nothing is applied",
        ),
        "days": Message("Số ngày", "Days"),
        "limits": Message("Ngưỡng", "Limits"),
        "try": Message("Thử", "Try"),
        "trying": Message("Đang chạy thử…", "Running…"),
        "in_force": Message("Ngưỡng hiện hành", "Limits in force"),
        "candidate": Message("Ngưỡng thử", "Candidate"),
        "alerts_count": Message("cảnh báo", "alerts"),
        "alert_hours": Message("giờ cảnh báo", "alert-hours"),
        "resolved_at": Message("Đóng lúc", "Resolved at"),
        "hours": Message("Số giờ", "Hours"),
        "still_open": Message("chưa đóng", "still open"),
        "online": Message("Đang hoạt động", "Online"),
        "disconnected": Message("Mất kết nối", "Disconnected"),
        "offline": Message("Ngoại tuyến", "Offline"),
        "no_wqi": Message("Chưa tính được", "Not computable"),
        "wqi": Message("Chỉ số chất lượng nước VN_WQI", "Water Quality Index VN_WQI"),
        "wqi_short": Message("VN_WQI", "VN_WQI"),
        "updated": Message("Cập nhật", "Updated"),
        "board_footer": Message(
            "Số liệu quan trắc tự động, tự cập nhật mỗi 10 giây",
            "Automatic monitoring data, refreshed every 10 seconds",
        ),
    }
)

FLAG_KEYS: Final = MappingProxyType(
    {
        QCFlag.GOOD: "flag_good",
        QCFlag.UNKNOWN: "flag_unknown",
        QCFlag.SUSPECT: "flag_suspect",
        QCFlag.FAIL: "flag_fail",
        QCFlag.MISSING: "flag_missing",
    }
)
"""The catalogue key of each QC flag's name."""


def vi(key: str) -> str:
    """The Vietnamese text of ``key``."""
    return MESSAGES[key].vi


def both(key: str) -> str:
    """``"vi / en"`` of ``key``."""
    return MESSAGES[key].both
