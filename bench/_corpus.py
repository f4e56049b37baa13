"""A realistic customer-care vocabulary (Vietnamese with diacritics, English) and message generator.

Word frequencies follow a Zipf law, as in real text: a few words ("tôi", "the") are everywhere, most
are rare, and invented product codes / names make the long tail (so a vocabulary of ~20,000 words).
"""

from __future__ import annotations

import random

VI = """tôi bạn shop mình ạ nhé cho hỏi đơn hàng giao nhận hoàn tiền đổi trả sản phẩm bị lỗi
cảm ơn xin chào vui lòng kiểm tra giúp khi nào được không có rồi chưa thanh toán chuyển khoản
địa chỉ số điện thoại quận phường thành phố Hà Nội Hồ Chí Minh Đà Nẵng Cần Thơ Hải Phòng
màu sắc kích thước áo quần giày dép túi xách điện thoại máy tính tai nghe sạc cáp ốp lưng
bảo hành sửa chữa thay thế miễn phí phí vận chuyển nhanh chậm hủy đặt lại khuyến mãi mã giảm giá
tài khoản đăng nhập mật khẩu quên xác nhận email tin nhắn gọi lại hỗ trợ khiếu nại phản hồi
hôm nay ngày mai tuần sau sáng chiều tối giờ phút trễ sớm gấp lắm quá rất hơi cũng vẫn đã sẽ đang
nhân viên cửa hàng kho hàng hóa đơn VAT xuất hóa đơn công ty cá nhân giá tiền đồng nghìn triệu
chất lượng tốt tệ hài lòng thất vọng đánh giá sao bình luận ảnh video hướng dẫn sử dụng cài đặt
trạng thái vận đơn mã vận đơn bưu điện shipper người nhận người gửi nhà riêng văn phòng"""

EN = """i you we the a an my your order delivery refund return exchange product broken damaged
thanks thank hello hi please check help when can could would not yet already payment transfer
address phone number city district street hanoi saigon size color shirt shoes bag laptop headphones
charger cable case warranty repair replace free shipping fee fast slow cancel reorder discount code
account login password forgot confirm email message call back support complaint feedback
today tomorrow next week morning afternoon evening hour minute late early urgent very really also
still already will staff store warehouse invoice company price cost quality good bad happy
disappointed review stars comment photo video guide install setup status tracking courier
receiver sender home office received missing wrong item package box open"""


def vocabulary(extra: int = 18000, seed: int = 7) -> list[str]:
    """Common words first (Zipf rank order), then a long tail of codes and names."""
    rng = random.Random(seed)
    words = list(dict.fromkeys(VI.split() + EN.split()))
    rng.shuffle(words)
    syllables = "an binh chau dung giang hoa khanh linh minh nga phuc quang".split()
    tail = set()
    while len(tail) < extra:
        kind = rng.random()
        if kind < 0.4:
            tail.add(f"DH{rng.randint(10000, 99999)}")
        elif kind < 0.7:
            tail.add(f"SP{rng.randint(1000, 9999)}{rng.choice('ABCDEFGH')}")
        else:
            tail.add(rng.choice(syllables) + rng.choice(syllables))
    return words + sorted(tail)


class MessageMaker:
    """Sentences of 6-30 words drawn with Zipf weights from ``vocabulary()``."""

    def __init__(self, seed: int = 11, words: list[str] | None = None):
        self.rng = random.Random(seed)
        self.words = words or vocabulary()
        weights = [1 / (rank + 1) ** 1.05 for rank in range(len(self.words))]
        total = sum(weights)
        acc, self.cum = 0.0, []
        for w in weights:
            acc += w / total
            self.cum.append(acc)

    def sentence(self, lo: int = 6, hi: int = 30) -> str:
        n = self.rng.randint(lo, hi)
        picked = self.rng.choices(self.words, cum_weights=self.cum, k=n)
        text = " ".join(picked)
        return text[0].upper() + text[1:] + self.rng.choice([".", "?", "!", " ạ.", " nhé."])

    def query(self, nwords: int) -> str:
        """A search query: words a person would type, biased to the middle of the frequency range."""
        rank_hi = len(self.words) - 1
        picks = []
        for _ in range(nwords):
            r = int(self.rng.paretovariate(0.7)) + self.rng.randint(0, 40)
            picks.append(self.words[min(r, rank_hi)])
        return " ".join(picks)
