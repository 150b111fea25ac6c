"""Every inbound type becomes the right dialogue input (issue 3), parsed the way WeChat sends it."""

import pytest

from bot.channels import messages
from bot.channels.inputs import MAX_TEXT, to_dialogue_input
from bot.models.enums import Channel

MP = Channel.MP
WORK = Channel.WORK


def xml(fields: str, *, msg_type: str, sender: str = "o_patient") -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_hospital]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>1764000000</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{fields}</xml>"
    )


def turn(channel, body):
    data = messages.parse_xml(body)
    return to_dialogue_input(messages.load(channel, data))


def test_text_is_passed_as_text():
    t = turn(
        MP,
        xml(
            "<Content><![CDATA[ 我的导管什么时候维护？ ]]></Content><MsgId>1</MsgId>",
            msg_type="text",
        ),
    )
    assert (t.text, t.intent) == ("我的导管什么时候维护？", None)


def test_empty_text_becomes_an_intent_the_dialogue_can_answer():
    t = turn(MP, xml("<Content><![CDATA[   ]]></Content><MsgId>1</MsgId>", msg_type="text"))
    assert t.intent == "empty_message"


def test_very_long_text_is_cut_to_a_bounded_prefix_and_marked():
    t = turn(MP, xml(f"<Content>{'肿' * 3000}</Content><MsgId>1</MsgId>", msg_type="text"))
    assert len(t.text) == MAX_TEXT and t.entities["truncated"] is True


def test_voice_with_wechat_recognition_becomes_text():
    body = xml(
        "<MediaId>m1</MediaId><Format>amr</Format><Recognition><![CDATA[手臂有点肿]]></Recognition><MsgId>2</MsgId>",
        msg_type="voice",
    )
    t = turn(MP, body)
    assert t.text == "手臂有点肿" and t.entities["voice"] is True


def test_voice_without_recognition_asks_for_text():
    t = turn(MP, xml("<MediaId>m1</MediaId><Format>amr</Format><MsgId>2</MsgId>", msg_type="voice"))
    assert t.intent == "voice_unrecognized" and t.entities["media_id"] == "m1"


@pytest.mark.req("P4.1")
def test_image_becomes_an_upload_with_its_media_id():
    t = turn(
        MP,
        xml(
            "<PicUrl><![CDATA[http://mmbiz/x.jpg]]></PicUrl><MediaId>img1</MediaId><MsgId>3</MsgId>",
            msg_type="image",
        ),
    )
    assert t.intent == "upload_image" and t.entities == {
        "media_id": "img1",
        "pic_url": "http://mmbiz/x.jpg",
    }


@pytest.mark.req("P5.1")
def test_location_becomes_coordinates():
    body = xml(
        "<Location_X>30.2741</Location_X><Location_Y>120.1551</Location_Y><Scale>15</Scale>"
        "<Label><![CDATA[杭州市西湖区]]></Label><MsgId>4</MsgId>",
        msg_type="location",
    )
    t = turn(MP, body)
    assert t.intent == "share_location"
    assert t.entities == {"latitude": 30.2741, "longitude": 120.1551, "label": "杭州市西湖区"}


def test_link_is_shared_as_a_link():
    body = xml(
        "<Title>PICC护理</Title><Description>d</Description><Url>https://x/y</Url><MsgId>5</MsgId>",
        msg_type="link",
    )
    assert turn(MP, body).entities == {"url": "https://x/y", "title": "PICC护理"}


def test_menu_click_becomes_the_intent_named_by_its_key():
    t = turn(MP, xml("<Event>CLICK</Event><EventKey>my_catheter</EventKey>", msg_type="event"))
    assert t.intent == "my_catheter"


def test_menu_key_that_is_not_an_intent_name_is_reported_as_unknown_menu():
    t = turn(MP, xml("<Event>CLICK</Event><EventKey>a b;c</EventKey>", msg_type="event"))
    assert t.intent == "menu_unknown"


def test_menu_view_needs_no_conversation():
    assert (
        turn(MP, xml("<Event>VIEW</Event><EventKey>https://h5/home</EventKey>", msg_type="event"))
        is None
    )


@pytest.mark.req("C2.1", "C3.1")
@pytest.mark.parametrize("event", ["scancode_waitmsg", "scancode_push"])
def test_clinician_scan_carries_the_scan_result(event):
    body = xml(
        f"<Event>{event}</Event><EventKey>scan_patient</EventKey><ScanCodeInfo><ScanType>qrcode</ScanType>"
        "<ScanResult>https://vam.example/q/abc.def</ScanResult></ScanCodeInfo><AgentID>1000002</AgentID>",
        msg_type="event",
        sender="n0001",
    )
    t = turn(WORK, body)
    assert t.intent == "scan_qr"
    assert t.entities["scan_result"] == "https://vam.example/q/abc.def"
    assert t.entities["scan_type"] == "qrcode"


def test_follow_becomes_subscribe():
    assert turn(MP, xml("<Event>subscribe</Event>", msg_type="event")).intent == "subscribe"


def test_follow_by_scanning_a_parametric_code_keeps_the_scene():
    t = turn(
        MP,
        xml(
            "<Event>subscribe</Event><EventKey>qrscene_ward12</EventKey><Ticket>t</Ticket>",
            msg_type="event",
        ),
    )
    assert t.intent == "subscribe" and t.entities == {"scene": "ward12"}


def test_follower_scanning_a_parametric_code_gets_the_scene():
    t = turn(
        MP,
        xml("<Event>SCAN</Event><EventKey>ward12</EventKey><Ticket>t</Ticket>", msg_type="event"),
    )
    assert t.intent == "scan_scene" and t.entities == {"scene": "ward12"}


@pytest.mark.parametrize("event", ["unsubscribe", "LOCATION", "TEMPLATESENDJOBFINISH"])
def test_silent_events_need_no_conversation(event):
    fields = (
        f"<Event>{event}</Event><Latitude>30.1</Latitude>"
        "<Longitude>120.1</Longitude><Precision>50</Precision>"
    )
    assert turn(MP, xml(fields, msg_type="event")) is None


def test_entering_the_work_app_greets():
    body = xml(
        "<Event>enter_agent</Event><EventKey></EventKey><AgentID>1000002</AgentID>",
        msg_type="event",
        sender="n0001",
    )
    assert turn(WORK, body).intent == "enter_agent"


def test_template_card_button_click_is_typed_not_unknown():
    body = xml(
        "<Event>template_card_event</Event><EventKey>confirm_maintenance</EventKey><TaskId>t1</TaskId>"
        "<CardType>button_interaction</CardType><ResponseCode>rc1</ResponseCode><AgentID>1000002</AgentID>",
        msg_type="event",
        sender="n0001",
    )
    msg = messages.load(WORK, messages.parse_xml(body))
    assert type(msg).__name__ == "TemplateCardEvent" and msg.response_code == "rc1"
    t = to_dialogue_input(msg)
    assert t.intent == "card_button"
    assert t.entities == {
        "button_key": "confirm_maintenance",
        "task_id": "t1",
        "response_code": "rc1",
    }


def test_template_card_button_with_a_dialogue_payload_is_sent_as_that_payload():
    body = xml(
        "<Event>template_card_event</Event><EventKey>/affirm</EventKey><TaskId>t1</TaskId>"
        "<ResponseCode>rc</ResponseCode><AgentID>1</AgentID>",
        msg_type="event",
        sender="n0001",
    )
    assert turn(WORK, body).text == "/affirm"


@pytest.mark.req("P3.2")
def test_subscribe_message_popup_reports_accepted_and_rejected_templates():
    body = xml(
        "<Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent>"
        "<List><TemplateId>tpl_remind</TemplateId><SubscribeStatusString>accept</SubscribeStatusString><PopupScene>0</PopupScene></List>"
        "<List><TemplateId>tpl_other</TemplateId><SubscribeStatusString>reject</SubscribeStatusString><PopupScene>0</PopupScene></List>"
        "</SubscribeMsgPopupEvent>",
        msg_type="event",
    )
    t = turn(MP, body)
    assert t.intent == "subscription_decision"
    assert t.entities == {"accepted": ["tpl_remind"], "rejected": ["tpl_other"]}


def test_unknown_message_type_is_kept_without_conversation():
    msg = messages.load(
        MP, messages.parse_xml(xml("<Foo>bar</Foo><MsgId>9</MsgId>", msg_type="hologram"))
    )
    assert type(msg).__name__ == "UnknownMessage"
    assert to_dialogue_input(msg) is None


def test_dedupe_keys_messages_by_msgid_and_events_by_time_event_and_key():
    m = messages.parse_xml(xml("<Content>a</Content><MsgId>6226</MsgId>", msg_type="text"))
    e = messages.parse_xml(
        xml("<Event>CLICK</Event><EventKey>my_catheter</EventKey>", msg_type="event")
    )
    assert messages.dedupe_key(m) == "msg:6226"
    assert messages.dedupe_key(e) == "evt:1764000000:click:my_catheter"


@pytest.mark.parametrize(
    "body",
    [
        "<xml><MsgType>text",  # truncated
        "not xml at all",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><MsgType>&a;</MsgType></xml>',
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
        "<notxml><MsgType>text</MsgType></notxml>",
    ],
)
def test_malformed_and_hostile_xml_is_refused(body):
    with pytest.raises(messages.MalformedMessage):
        messages.parse_xml(body)


def test_oversized_body_is_refused():
    with pytest.raises(messages.MalformedMessage, match="exceeds"):
        messages.parse_xml("<xml>" + "a" * (messages.MAX_CALLBACK_BYTES + 1) + "</xml>")


def test_message_without_sender_is_refused():
    with pytest.raises(messages.MalformedMessage):
        messages.load(MP, {"MsgType": "text", "Content": "x"})
