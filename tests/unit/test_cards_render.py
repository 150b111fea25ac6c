"""One reply, shown the way each channel can show it."""

from bot.channels.turn import merge_texts
from bot.models.enums import Channel
from cards import render
from cards.render import text_message


def test_text_reply_is_a_text_message_on_both_channels():
    for channel in Channel.MP, Channel.WORK:
        assert render({"text": "您好"}, channel) == [
            ("text", {"msgtype": "text", "text": {"content": "您好"}})
        ]


def test_buttons_become_a_wechat_work_template_card_and_numbered_options_on_the_official_account():
    reply = {
        "text": "请确认本次维护\n冲封管、换药",
        "buttons": [{"title": "确认", "payload": "/affirm"}, {"title": "取消", "payload": "/deny"}],
    }
    [(kind, payload)] = render(reply, Channel.WORK)
    card = payload["template_card"]
    assert kind == "template_card" and card["card_type"] == "button_interaction"
    assert card["main_title"]["title"] == "请确认本次维护"
    assert [b["key"] for b in card["button_list"]] == ["/affirm", "/deny"]
    [(kind, payload)] = render(reply, Channel.MP)
    assert (
        kind == "text"
        and "1. 确认" in payload["text"]["content"]
        and "2. 取消" in payload["text"]["content"]
    )


def test_notice_card_is_a_template_card_at_work_and_a_news_article_with_a_link_for_patients():
    card = {
        "custom": {
            "card": "notice",
            "title": "张** PICC",
            "fields": [["状态", "今日需维护"], ["置管", "2026-11-01"]],
            "url": "https://h5/c/1",
        }
    }
    [(kind, payload)] = render(card, Channel.WORK)
    tc = payload["template_card"]
    assert kind == "template_card" and tc["card_type"] == "text_notice"
    assert tc["horizontal_content_list"][0] == {"keyname": "状态", "value": "今日需维护"}
    assert tc["card_action"]["url"] == "https://h5/c/1"
    [(kind, payload)] = render(card, Channel.MP)
    article = payload["news"]["articles"][0]
    assert (
        kind == "news"
        and article["url"] == "https://h5/c/1"
        and "状态：今日需维护" in article["description"]
    )


def test_notice_without_link_is_plain_text_for_patients():
    [(kind, payload)] = render(
        {"custom": {"card": "notice", "title": "提醒", "fields": [["下次维护", "12月2日"]]}},
        Channel.MP,
    )
    assert kind == "text" and payload["text"]["content"] == "提醒\n下次维护：12月2日"


def test_local_image_is_sent_as_an_image_to_upload():
    assert render({"custom": {"card": "image", "path": "/m/qr.png"}}, Channel.MP) == [
        ("image", {"msgtype": "image", "image": {"path": "/m/qr.png"}})
    ]


def test_consecutive_texts_merge_and_replies_stay_within_the_official_account_allowance():
    many = (
        [text_message("一"), text_message("二")]
        + [("image", {"image": {"path": str(n)}}) for n in range(6)]
        + [text_message("尾")]
    )
    merged = merge_texts(many, 5)
    assert len(merged) == 5
    assert merged[0] == ("text", {"msgtype": "text", "text": {"content": "一\n\n二"}})
    assert merged[-1] == ("text", {"msgtype": "text", "text": {"content": "尾"}})
