// How numbers, times and labels are written: Vietnamese conventions, and a missing value is
// always "—", never 0.

export const DASH = "—";
const TIME_ZONE = "Asia/Ho_Chi_Minh";
const number = new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 2 });
const clock = new Intl.DateTimeFormat("vi-VN", {
  timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const moment = new Intl.DateTimeFormat("vi-VN", {
  timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric",
  hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

const missing = (value) => value === null || value === undefined || Number.isNaN(value);

export function num(value) {
  return missing(value) ? DASH : number.format(value);
}

export function percent(value) {
  return missing(value) ? DASH : `${number.format(value)} %`;
}

// A change: "+1,5", "−2", "0"; missing when there is nothing to compare with.
export function signed(value) {
  if (missing(value)) return DASH;
  if (value > 0) return `+${number.format(value)}`;
  if (value < 0) return `−${number.format(-value)}`;
  return "0";
}

export function trend(value) {
  if (missing(value) || value === 0) return "flat";
  return value > 0 ? "up" : "down";
}

export function hhmm(date) {
  return clock.format(date);
}

export function when(iso) {
  return iso ? moment.format(new Date(iso)) : DASH;
}

// A sum of seconds (2.2's numerator, the time all its dossiers took) in days, as its average is.
export function days(seconds) {
  return missing(seconds) ? DASH : `${number.format(seconds / 86_400)} ngày`;
}

export function signedDays(seconds) {
  return missing(seconds) ? DASH : `${signed(seconds / 86_400)} ngày`;
}

export function duration(seconds) {
  if (missing(seconds)) return DASH;
  const minutes = Math.floor(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days} ngày ${hours} giờ`;
  if (hours > 0) return `${hours} giờ ${minutes % 60} phút`;
  return `${minutes} phút`;
}

export const LEVELS = { department: "Sở, ban, ngành", commune: "Xã, phường" };
export const LEVEL_OF_UNIT = { DEPARTMENT: "Sở, ban, ngành", COMMUNE: "Xã, phường" };
export const ALERT_LEVELS = { info: "Thông tin", warning: "Cảnh báo", critical: "Nghiêm trọng" };
// A dossier's status as the one-stop systems name it (the national TrangThaiHoSo); an unknown
// one as sent.
const STATUSES = {
  SUBMITTED: "Mới đăng ký", RECEIVED: "Được tiếp nhận", NOT_ACCEPTED: "Không được tiếp nhận",
  IN_PROGRESS: "Đang xử lý", SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
  PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính", SUPPLEMENTED: "Đã bổ sung",
  WITHDRAWN: "Công dân yêu cầu rút hồ sơ", SUSPENDED: "Dừng xử lý", COMPLETED: "Đã xử lý xong",
  RESULT_RETURNED: "Đã trả kết quả", REJECTED: "Từ chối",
};

const FEEDBACK_STATUSES = {
  RECEIVED: "Đã tiếp nhận", TRANSFERRED: "Đã chuyển xử lý", IN_PROGRESS: "Đang xử lý",
  SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung", ANSWERED: "Đã trả lời", PUBLISHED: "Đã công khai",
  REJECTED: "Từ chối",
};

export function dossierStatus(status) {
  return status ? STATUSES[status] ?? status : DASH;
}

export function feedbackStatus(status) {
  return status ? FEEDBACK_STATUSES[status] ?? status : DASH;
}
