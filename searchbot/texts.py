"""Every text the bot shows, per language, in one place.

Templates are HTML; the values put into them are escaped here, so no handler or use case can
forget to escape a family's or a stranger's words. Pass ``Raw`` for a value that is already HTML.
"""

from __future__ import annotations

import html
from typing import Any

from searchbot.settings import LANGUAGES


class Raw(str):
    """A value that is already safe HTML (built from other escaped texts)."""


EN: dict[str, str] = {
    # general
    "start": (
        "👋 This is <b>searchbot</b>: it helps find a missing person (most often a lost child) "
        "with the shops, guards and volunteers around the place they were last seen.\n\n"
        "• /report — report a missing person\n"
        "• /mycases — your open reports\n"
        "• /seen <i>number</i> — report a sighting\n"
        "• /help — how it works"
    ),
    "help": (
        "<b>Families</b>: /report, then answer the questions. Every sighting comes to you here.\n"
        "<b>Groups</b> (shops, guards, volunteers): add the bot to your group and send "
        "<code>/register merchant</code> (or guard, volunteer). Alerts arrive once the police "
        "approve. Tap <b>I saw them</b> or reply to an alert to report a sighting.\n"
        "<b>Police</b>: /cases, /case N, /verify N, /escalate N, /close N found, /groups, "
        "/approve ID, /reject ID, /stats.\n"
        "/cancel leaves any question."
    ),
    "cancelled": "Cancelled. Nothing was sent. /report starts again.",
    "nothing_to_cancel": "There is nothing to cancel.",
    "unknown_command": "I don't know that command. /help lists what I can do.",
    "private_only": "Please use this command in a private chat with me.",
    "group_only": "This command works in a group chat.",
    "officers_only": "Only police officers can do that.",
    "admins_only": "Only administrators can do that.",
    "no_such_case": "There is no case {ref}.",
    "case_closed_already": "Case {ref} is already closed.",
    "bad_case_ref": "Please give a case number, e.g. <code>{example}</code>.",
    "not_your_case": "That is not one of your cases.",
    "stale_button": "This button no longer applies.",
    "forwarded": "Please type the answer yourself rather than forwarding a message.",
    # report dialogue
    "ask_photo": (
        "📷 Send a recent photo of the missing person (clear face, whole body if you have one). "
        "You can send up to 3. No photo? /skip"
    ),
    "photo_saved": "Photo {count} saved. Send another, or tap <b>Next</b>.",
    "photo_expected": "Please send a photo (as a picture, not a file), or /skip.",
    "photo_limit": "That's 3 photos already — tap <b>Next</b>.",
    "ask_name": "What is their name? (Officers see it; alerts show it only if the station allows.)",
    "name_expected": "Please type the name as text (at most {max} characters).",
    "ask_age": "How old are they? (a number, e.g. 6)",
    "age_expected": "Please send the age as a number between 0 and 120, e.g. 6.",
    "ask_sex": "Sex?",
    "sex_expected": "Please tap one of the buttons.",
    "ask_description": (
        "Describe them: clothing (colours!), height, hair, anything that stands out. "
        "One message, at most {max} characters."
    ),
    "description_expected": "Please describe them in words (at most {max} characters).",
    "ask_place": (
        "📍 Where were they last seen? Send a location (📎 → Location), or type a place name "
        "(a shop, an entrance, a street)."
    ),
    "place_found": "I found <b>{place}</b>. Is that right?",
    "place_not_found": (
        "I could not find “{text}”. Try another name nearby, or send a location (📎 → Location)."
    ),
    "place_outside": "That place is outside this station's area. Please send a place in the area.",
    "place_expected": "Please send a location, or type the name of a place.",
    "place_set": "📍 Last seen: {place}",
    "ask_time": (
        "🕒 When were they last seen? Type a time like <code>14:30</code>, or how long ago like "
        "<code>20 min</code>, or tap <b>Just now</b>."
    ),
    "time_expected": "Please send a time like 14:30, or how long ago like 20 min.",
    "time_future": "That time is in the future. When were they last seen?",
    "ask_contact": (
        "☎️ A phone number the police can call you on (only officers see it). "
        "Share it with the button, type it, or /skip."
    ),
    "contact_expected": "Please send a phone number, or /skip.",
    "summary": "<b>Please check:</b>\n\n{card}\n\nSend the alert?",
    "case_opened": (
        "✅ Case <b>{ref}</b> is open. The alert is going out to {count} groups within {radius}. "
        "Sightings will come to you here. Stay where you are if you can and keep your phone on.\n"
        "When they are found, tap <b>Found</b> in /mycases."
    ),
    "case_opened_no_groups": (
        "✅ Case <b>{ref}</b> is open. There is no registered group within {radius} yet; the "
        "police have your report and the area widens as time passes."
    ),
    "case_opened_held": (
        "✅ Case <b>{ref}</b> is open. An officer is checking it now; the alert goes out to the "
        "groups within {radius} as soon as it is verified. Sightings will come to you here."
    ),
    "edit_which": "What would you like to change?",
    "report_limit": "You have reported several cases in the last hour. Please call the police.",
    "blocked_user": "You cannot report cases with this bot. Please call the police.",
    # buttons
    "btn_next": "Next ➡",
    "btn_skip": "Skip",
    "btn_yes": "✅ Yes",
    "btn_no": "✏️ No, type again",
    "btn_now": "Just now",
    "btn_confirm": "✅ Confirm",
    "btn_edit": "✏️ Edit",
    "btn_cancel": "✖ Cancel",
    "btn_boy": "Boy / male",
    "btn_girl": "Girl / female",
    "btn_unknown": "Unknown",
    "btn_seen": "👀 I saw them",
    "btn_checked": "✅ Checked — not here",
    "btn_found": "🎉 Found",
    "btn_verify": "☑️ Verify",
    "btn_escalate": "⏫ Widen now",
    "btn_close_found": "Close: found",
    "btn_close_false": "Close: false alarm",
    "btn_close_withdrawn": "Close: withdrawn",
    "btn_approve": "✅ Approve",
    "btn_reject": "✖ Reject",
    "btn_credible": "👍 Credible",
    "btn_not_credible": "👎 Not credible",
    "field_photo": "Photo",
    "field_name": "Name",
    "field_age": "Age",
    "field_sex": "Sex",
    "field_description": "Description",
    "field_place": "Place",
    "field_time": "Time",
    "field_contact": "Contact",
    # what cases look like
    "sex_m": "boy/male",
    "sex_f": "girl/female",
    "sex_u": "sex unknown",
    "age": "{age} years",
    "card": (
        "<b>{ref}</b> {name}\n{age}, {sex}\n{description}\n"
        "📍 Last seen: {place}, {when}\n☎️ {contact}"
    ),
    "card_status": (
        "Stage {stage} of {stages} ({radius}); {alerted} groups alerted, {checked} checked — "
        "not here; {sightings} sightings. {verified}"
    ),
    "verified": "Verified.",
    "unverified": "<b>Not verified yet.</b>",
    "no_contact": "no phone given",
    "alert_caption": (
        "🆘 <b>MISSING {ref}</b>{name}\n{age}, {sex}\n{description}\n"
        "📍 Last seen: {place}, {when} — {distance} from you\n"
        "If you see them: tap <b>I saw them</b>, or reply to this message with a location, "
        "photo or words. Do not share this photo outside the group."
    ),
    "alert_closed": "✅ {ref}: the search is over — thank you for looking. The photo was removed.",
    "distance_m": "{value} m",
    "distance_km": "{value} km",
    "minutes_ago": "{minutes} min ago",
    "at_time": "at {time}",
    # officers
    "new_case": "🆕 <b>New case</b>\n\n{card}\n\nReported by {reporter}.\n{status}",
    "new_group": (
        "🏪 <b>Group asks to receive alerts</b>\n{title} ({role}), chat <code>{chat_id}</code>\n"
        "📍 {lat}, {lon}. Registered by {by}."
    ),
    "role_merchant": "merchant",
    "role_guard": "guard",
    "role_volunteer": "volunteer",
    "cases_none": "No open cases.",
    "cases_line": "{ref} {age}, {sex} — {place}, {minutes} min, stage {stage}, {sightings} sightings",
    "groups_none": "No groups.",
    "groups_line": "<code>{chat_id}</code> {title} — {role}, {status}",
    "group_approved": "✅ Approved {title}.",
    "group_rejected": "✖ Rejected {title}.",
    "no_such_group": "There is no registered group {chat_id}.",
    "verified_by": "☑️ {ref} verified by {by}.",
    "already_verified": "{ref} was already verified.",
    "escalated": "⏫ {ref}: stage {stage} — {radius}: {count} more groups.",
    "last_stage": "{ref} is already at its widest ring ({radius}).",
    "closed_officers": "🔒 {ref} closed as <b>{outcome}</b> by {by}. {note}Alerts are being retracted.",
    "closed_family": "🔒 Case {ref} is closed ({outcome}). The alerts are being removed. {note}",
    "closed_family_found": "🎉 Case {ref} is closed: found. We are so glad. The alerts are being removed.",
    "outcome_found": "found",
    "outcome_false_alarm": "false alarm",
    "outcome_withdrawn": "withdrawn",
    "close_usage": "Usage: <code>/close N found|false_alarm|withdrawn [note]</code>",
    "officer_added": "{user_id} is now an officer.",
    "officer_removed": "{user_id} is no longer an officer.",
    "officer_usage": "Usage: <code>/officer add|remove USER_ID</code>",
    "chat_id_usage": "Usage: <code>/{command} CHAT_ID</code>",
    "recipient_gone": "⚠️ {chat} can no longer be reached (the bot was removed or blocked).",
    "delivery_dead": "⚠️ A message for {ref} to {chat} could not be delivered: {error}",
    "stage_done": "⏫ {ref}: stage {stage} — {radius}: {count} more groups ({alerted} in all, {checked} checked — not here).",
    "needs_verification": "⏸ {ref} waits for an officer to verify it before the next ring ({radius}).",
    # groups
    "register_usage": (
        "Please say what kind of group this is: <code>/register merchant</code>, "
        "<code>/register guard</code> or <code>/register volunteer</code>."
    ),
    "register_ask_location": (
        "📍 Reply to this message with the group's location (📎 → Location): the shop, gate or "
        "post where your members are."
    ),
    "register_location_expected": "Please reply with a location (📎 → Location).",
    "register_sent": "Thank you. The police will review the request; alerts start once approved.",
    "register_already": "This group is already registered ({status}).",
    "register_admins_only": "Only the group's administrators can register or unregister it.",
    "unregistered": "This group will no longer receive alerts.",
    "not_registered": "This group is not registered. /register to start.",
    "group_status": "This group: {role}, {status}. {alerts} alerts received.",
    "status_locating": "waiting for its location",
    "status_pending": "waiting for police approval",
    "status_approved": "approved, receives alerts",
    "status_rejected": "not approved",
    "status_inactive": "inactive",
    "approved_group": "✅ The police approved this group: alerts for missing people nearby will appear here.",
    "rejected_group": "The police did not approve this group for alerts.",
    "checked_thanks": "Thank you — noted that you checked.",
    "checked_already": "Already noted. Thank you!",
    # sightings
    "seen_ask_place": (
        "👀 Thank you! Where did you see them? Send a location (📎 → Location) or type the place."
    ),
    "seen_ask_photo": "Do you have a photo? Send it, or tap <b>Skip</b>.",
    "seen_ask_note": "Anything else? What were they doing, which way did they go, who were they with? Or tap <b>Skip</b>.",
    "seen_ask_time": "When did you see them? e.g. <code>14:30</code> or <code>5 min</code>, or tap <b>Just now</b>.",
    "seen_thanks": "🙏 Thank you. The family and the police have your sighting.",
    "seen_case_closed": "Thank you — this search is already over.",
    "sighting": (
        "👀 <b>Sighting for {ref}</b>\n{where} — {distance} from the last-seen place, "
        "{minutes} min after they went missing.\n{note}"
    ),
    "sighting_officers": "{sighting}\nFrom: {sighter}{group}",
    "sighting_where_unknown": "place not given",
    "sighting_in_group": " in group {title}",
    "found_confirm": "Tap again to confirm they are found.",
    "mycases_none": "You have no open cases.",
    "mycases_line": "{ref} — {name}, reported {minutes} min ago, {sightings} sightings",
    "remind_verify": "⏸ Reminder: {ref} has waited {minutes} min for an officer to verify it; the next ring ({radius}) holds until then.",
    "remind_open": "🔔 {ref} is still open after {minutes} min, at its widest ring ({radius}).",
    "remind_stale": "⚠️ {ref} has been open for {hours} hours. Please review it: close it, or widen the search by other means.",
    "credible_marked": "👍 Sighting for {ref} marked credible by {by}: {count} more groups around it alerted; the next rings centre there.",
    "not_credible_marked": "👎 Sighting for {ref} marked not credible by {by}.",
    "already_judged": "This sighting was already judged.",
    "no_such_sighting": "There is no such sighting.",
    "alert_seen_here": "👀 <b>SEEN HERE at {time}</b>",
    "coverage_ring": "{stage}) {radius}: {alerted} groups alerted, {checked} checked — not here",
    "coverage_blind": "Blind spots: {blind} of {cells} cells within {radius} have no registered group.",
    "coverage_blind_near": "Nearest blind spots: {spots}",
    "coverage_none_blind": "Every cell within {radius} has a registered group.",
    "stats": (
        "<b>Last {days} days</b>\n"
        "Cases: {open} open, {found} found, {false_alarm} false alarms, {withdrawn} withdrawn\n"
        "Time to found: median {median} min, 90% within {p90} min; {fast} found within 30 min\n"
        "Sightings per case: {sightings}\n"
        "Approved groups: {merchant} merchants, {guard} guards, {volunteer} volunteers "
        "({pending} waiting for approval)\n"
        "Groups that checked: {answered} of {alerted} alerted"
    ),
    "export_caption": "{ref}: {what}",
    "export_usage": "Usage: <code>/export N</code> — the case as CAP 1.2 and PFIF 1.4 XML.",
    "export_nothing": "{ref} has no alert to export yet.",
    "chart_outcomes_title": "Cases by outcome",
    "chart_found_title": "Time to found",
    "chart_cases": "cases",
    "chart_minutes": "minutes",
    "chart_no_data": "no case found yet",
    "added_by_non_admin": "Only an administrator of this group can add me. Please ask one of them to add me; I am leaving now.",
    "added_welcome": "👋 Thank you for adding me. An administrator can now send <code>/register merchant</code> (or guard, volunteer) to receive alerts about missing people nearby.",
    "edited_ignored": "I only read new messages, not edits. Please send your answer again.",
    "blocked_done": "{user_id} can no longer report cases or send sightings.",
    "unblocked_done": "{user_id} can report cases and send sightings again.",
    "block_usage": "Usage: <code>/block USER_ID</code> or <code>/unblock USER_ID</code>",
    "sighting_limit": "Thank you — you have already sent many sightings for this case. Please call the police with anything urgent.",
    "history_title": "<b>History</b>",
    "history_line": "{time} {action}{actor}",
    "cmd_report": "Report a missing person",
    "cmd_mycases": "Your open reports",
    "cmd_seen": "Report a sighting: /seen NUMBER",
    "cmd_cancel": "Leave the current questions",
    "cmd_help": "How this bot works",
    "cmd_register": "Receive alerts: /register merchant|guard|volunteer",
    "cmd_status": "This group's registration",
    "cmd_unregister": "Stop receiving alerts",
    "cmd_cases": "Open cases",
    "cmd_case": "A case's card, coverage and history",
    "cmd_verify": "Verify a case",
    "cmd_escalate": "Widen a case's search now",
    "cmd_close": "Close: /close N found|false_alarm|withdrawn",
    "cmd_groups": "Registered groups (/groups pending)",
    "cmd_approve": "Approve a group: /approve CHAT_ID",
    "cmd_reject": "Reject a group: /reject CHAT_ID",
    "cmd_stats": "Figures of the last 30 days",
    "cmd_export": "A case as CAP and PFIF",
    "cmd_block": "Stop a person's reports",
    "cmd_unblock": "Allow a person's reports again",
}

ZH: dict[str, str] = {
    "start": (
        "👋 这是<b>寻人助手</b>：当有人走失（多为走失儿童），它联动走失地点周边的商户、保安和志愿者群一起寻找。\n\n"
        "• /report — 报告走失\n"
        "• /mycases — 我的报告\n"
        "• /seen <i>编号</i> — 提供线索\n"
        "• /help — 使用说明"
    ),
    "help": (
        "<b>家属</b>：发送 /report 并回答问题，所有线索都会在这里通知您。\n"
        "<b>群组</b>（商户、保安、志愿者）：把机器人拉进群，发送 <code>/register merchant</code>"
        "（或 guard、volunteer），警方批准后开始接收警报。点 <b>我看到了</b> 或回复警报即可提供线索。\n"
        "<b>警务人员</b>：/cases、/case 编号、/verify、/escalate、/close 编号 found、/groups、"
        "/approve、/reject、/stats。\n"
        "/cancel 可随时退出当前问答。"
    ),
    "cancelled": "已取消，未发送任何内容。发送 /report 重新开始。",
    "nothing_to_cancel": "当前没有可取消的操作。",
    "unknown_command": "不认识这个命令。发送 /help 查看可用命令。",
    "private_only": "请在与我的私聊中使用此命令。",
    "group_only": "此命令需在群聊中使用。",
    "officers_only": "只有警务人员可以执行此操作。",
    "admins_only": "只有管理员可以执行此操作。",
    "no_such_case": "没有案件 {ref}。",
    "case_closed_already": "案件 {ref} 已结案。",
    "bad_case_ref": "请提供案件编号，例如 <code>{example}</code>。",
    "not_your_case": "这不是您报告的案件。",
    "stale_button": "此按钮已失效。",
    "forwarded": "请直接输入回答，不要转发消息。",
    "ask_photo": "📷 请发送走失者的近照（面部清晰，最好有全身照），最多 3 张。没有照片？发送 /skip",
    "photo_saved": "已保存第 {count} 张照片。可继续发送，或点 <b>下一步</b>。",
    "photo_expected": "请发送照片（以图片方式，不要以文件方式），或发送 /skip。",
    "photo_limit": "已有 3 张照片，请点 <b>下一步</b>。",
    "ask_name": "走失者叫什么名字？（警方可见；警报中是否显示由派出所设置决定）",
    "name_expected": "请以文字输入姓名（最多 {max} 个字符）。",
    "ask_age": "走失者多大年龄？（请输入数字，例如 6）",
    "age_expected": "请输入 0 到 120 之间的数字年龄，例如 6。",
    "ask_sex": "性别？",
    "sex_expected": "请点击下方按钮选择。",
    "ask_description": "请描述外貌特征：衣着（颜色）、身高、发型及其他明显特征。请用一条消息，最多 {max} 个字符。",
    "description_expected": "请用文字描述（最多 {max} 个字符）。",
    "ask_place": "📍 最后在哪里看到？请发送位置（📎 → 位置），或输入地点名称（商店、入口、街道）。",
    "place_found": "找到了 <b>{place}</b>，对吗？",
    "place_not_found": "没有找到“{text}”。请换一个附近的地名，或直接发送位置（📎 → 位置）。",
    "place_outside": "该地点不在本辖区范围内，请发送辖区内的地点。",
    "place_expected": "请发送位置，或输入地点名称。",
    "place_set": "📍 最后出现地点：{place}",
    "ask_time": "🕒 最后一次看到是什么时候？输入时间如 <code>14:30</code>，或多久以前如 <code>20分钟</code>，或点 <b>刚刚</b>。",
    "time_expected": "请输入时间如 14:30，或多久以前如 20分钟。",
    "time_future": "这个时间还没到。最后一次看到是什么时候？",
    "ask_contact": "☎️ 请留下警方可以联系您的电话（仅警方可见）。可点按钮分享、直接输入，或发送 /skip。",
    "contact_expected": "请发送电话号码，或发送 /skip。",
    "summary": "<b>请核对：</b>\n\n{card}\n\n确认发布警报？",
    "case_opened": (
        "✅ 案件 <b>{ref}</b> 已建立，警报正发送给 {radius} 范围内的 {count} 个群组。"
        "线索会在这里通知您。请尽量留在原地并保持手机畅通。\n找到后请在 /mycases 中点 <b>已找到</b>。"
    ),
    "case_opened_no_groups": "✅ 案件 <b>{ref}</b> 已建立。{radius} 范围内暂无登记群组；警方已收到报告，搜索范围会随时间扩大。",
    "case_opened_held": "✅ 案件 <b>{ref}</b> 已建立。警务人员正在核实，核实后将立即向 {radius} 范围内的群组发布警报。线索会在这里通知您。",
    "edit_which": "要修改哪一项？",
    "report_limit": "您在一小时内已报告多起案件，请直接报警。",
    "blocked_user": "您无法通过本机器人报告案件，请直接报警。",
    "btn_next": "下一步 ➡",
    "btn_skip": "跳过",
    "btn_yes": "✅ 对",
    "btn_no": "✏️ 不对，重新输入",
    "btn_now": "刚刚",
    "btn_confirm": "✅ 确认发布",
    "btn_edit": "✏️ 修改",
    "btn_cancel": "✖ 取消",
    "btn_boy": "男",
    "btn_girl": "女",
    "btn_unknown": "不确定",
    "btn_seen": "👀 我看到了",
    "btn_checked": "✅ 已查看，不在这里",
    "btn_found": "🎉 已找到",
    "btn_verify": "☑️ 核实",
    "btn_escalate": "⏫ 立即扩大范围",
    "btn_close_found": "结案：已找到",
    "btn_close_false": "结案：误报",
    "btn_close_withdrawn": "结案：撤回",
    "btn_approve": "✅ 批准",
    "btn_reject": "✖ 拒绝",
    "btn_credible": "👍 可信",
    "btn_not_credible": "👎 不可信",
    "field_photo": "照片",
    "field_name": "姓名",
    "field_age": "年龄",
    "field_sex": "性别",
    "field_description": "特征",
    "field_place": "地点",
    "field_time": "时间",
    "field_contact": "电话",
    "sex_m": "男",
    "sex_f": "女",
    "sex_u": "性别不详",
    "age": "{age}岁",
    "card": "<b>{ref}</b> {name}\n{age}，{sex}\n{description}\n📍 最后出现：{place}，{when}\n☎️ {contact}",
    "card_status": "第 {stage}/{stages} 圈（{radius}）；已通知 {alerted} 个群，{checked} 个已查看未发现；线索 {sightings} 条。{verified}",
    "verified": "已核实。",
    "unverified": "<b>尚未核实。</b>",
    "no_contact": "未留电话",
    "alert_caption": (
        "🆘 <b>寻人 {ref}</b>{name}\n{age}，{sex}\n{description}\n"
        "📍 最后出现：{place}，{when} — 距您 {distance}\n"
        "如看到此人：点 <b>我看到了</b>，或回复本消息发送位置、照片或文字。请勿将照片转发到群外。"
    ),
    "alert_closed": "✅ {ref}：寻人已结束，感谢大家！照片已撤回。",
    "distance_m": "{value} 米",
    "distance_km": "{value} 公里",
    "minutes_ago": "{minutes} 分钟前",
    "at_time": "{time}",
    "new_case": "🆕 <b>新案件</b>\n\n{card}\n\n报告人：{reporter}。\n{status}",
    "new_group": "🏪 <b>群组申请接收警报</b>\n{title}（{role}），chat <code>{chat_id}</code>\n📍 {lat}, {lon}。申请人：{by}。",
    "role_merchant": "商户",
    "role_guard": "保安",
    "role_volunteer": "志愿者",
    "cases_none": "没有进行中的案件。",
    "cases_line": "{ref} {age}，{sex} — {place}，{minutes} 分钟，第 {stage} 圈，线索 {sightings} 条",
    "groups_none": "没有群组。",
    "groups_line": "<code>{chat_id}</code> {title} — {role}，{status}",
    "group_approved": "✅ 已批准 {title}。",
    "group_rejected": "✖ 已拒绝 {title}。",
    "no_such_group": "没有登记的群组 {chat_id}。",
    "verified_by": "☑️ {ref} 已由 {by} 核实。",
    "already_verified": "{ref} 已经核实过。",
    "escalated": "⏫ {ref}：第 {stage} 圈 — {radius}：新增 {count} 个群组。",
    "last_stage": "{ref} 已是最大范围（{radius}）。",
    "closed_officers": "🔒 {ref} 已由 {by} 结案：<b>{outcome}</b>。{note}正在撤回警报。",
    "closed_family": "🔒 案件 {ref} 已结案（{outcome}），警报正在撤回。{note}",
    "closed_family_found": "🎉 案件 {ref} 已结案：已找到。由衷为您高兴！警报正在撤回。",
    "outcome_found": "已找到",
    "outcome_false_alarm": "误报",
    "outcome_withdrawn": "撤回",
    "close_usage": "用法：<code>/close 编号 found|false_alarm|withdrawn [备注]</code>",
    "officer_added": "{user_id} 已成为警务人员。",
    "officer_removed": "{user_id} 已不再是警务人员。",
    "officer_usage": "用法：<code>/officer add|remove 用户ID</code>",
    "chat_id_usage": "用法：<code>/{command} 群ID</code>",
    "recipient_gone": "⚠️ 无法再联系 {chat}（机器人被移出或被屏蔽）。",
    "delivery_dead": "⚠️ {ref} 发往 {chat} 的消息未能送达：{error}",
    "stage_done": "⏫ {ref}：第 {stage} 圈 — {radius}：新增 {count} 个群组（共 {alerted} 个，{checked} 个已查看未发现）。",
    "needs_verification": "⏸ {ref} 需警务人员核实后才会扩大到下一圈（{radius}）。",
    "register_usage": "请说明群组类型：<code>/register merchant</code>（商户）、<code>/register guard</code>（保安）或 <code>/register volunteer</code>（志愿者）。",
    "register_ask_location": "📍 请回复本消息，发送本群的位置（📎 → 位置）：成员所在的商店、门岗或岗亭。",
    "register_location_expected": "请回复一个位置（📎 → 位置）。",
    "register_sent": "谢谢。警方审核后即开始接收警报。",
    "register_already": "本群已登记（{status}）。",
    "register_admins_only": "只有群管理员可以登记或注销本群。",
    "unregistered": "本群将不再接收警报。",
    "not_registered": "本群尚未登记。发送 /register 开始。",
    "group_status": "本群：{role}，{status}。已收到 {alerts} 条警报。",
    "status_locating": "等待位置",
    "status_pending": "等待警方批准",
    "status_approved": "已批准，接收警报",
    "status_rejected": "未批准",
    "status_inactive": "已停用",
    "approved_group": "✅ 警方已批准本群：附近的寻人警报会出现在这里。",
    "rejected_group": "警方未批准本群接收警报。",
    "checked_thanks": "谢谢，已记录您已查看。",
    "checked_already": "已记录过了，谢谢！",
    "seen_ask_place": "👀 谢谢！在哪里看到的？请发送位置（📎 → 位置）或输入地点。",
    "seen_ask_photo": "有照片吗？请发送，或点 <b>跳过</b>。",
    "seen_ask_note": "还有其他情况吗？在做什么、往哪个方向走、和谁在一起？或点 <b>跳过</b>。",
    "seen_ask_time": "什么时候看到的？例如 <code>14:30</code> 或 <code>5分钟</code>，或点 <b>刚刚</b>。",
    "seen_thanks": "🙏 谢谢！家属和警方已收到您的线索。",
    "seen_case_closed": "谢谢——这次寻人已经结束。",
    "sighting": "👀 <b>{ref} 的线索</b>\n{where} — 距最后出现地点 {distance}，走失后 {minutes} 分钟。\n{note}",
    "sighting_officers": "{sighting}\n提供人：{sighter}{group}",
    "sighting_where_unknown": "未提供地点",
    "sighting_in_group": "（群：{title}）",
    "found_confirm": "再点一次确认已找到。",
    "mycases_none": "您没有进行中的案件。",
    "mycases_line": "{ref} — {name}，{minutes} 分钟前报告，线索 {sightings} 条",
    "remind_verify": "⏸ 提醒：{ref} 已等待核实 {minutes} 分钟；核实前不会扩大到下一圈（{radius}）。",
    "remind_open": "🔔 {ref} 已进行 {minutes} 分钟，仍未结案，已达最大范围（{radius}）。",
    "remind_stale": "⚠️ {ref} 已超过 {hours} 小时未结案。请复核：结案，或通过其他途径扩大搜索。",
    "credible_marked": "👍 {ref} 的线索已由 {by} 标记为可信：已通知其周边新增 {count} 个群组；之后的搜索圈以此为中心。",
    "not_credible_marked": "👎 {ref} 的线索已由 {by} 标记为不可信。",
    "already_judged": "该线索已被评判过。",
    "no_such_sighting": "没有该线索。",
    "alert_seen_here": "👀 <b>{time} 有人在此看到</b>",
    "coverage_ring": "{stage}) {radius}：已通知 {alerted} 个群，{checked} 个已查看未发现",
    "coverage_blind": "盲区：{radius} 内 {cells} 个网格中有 {blind} 个没有登记群组。",
    "coverage_blind_near": "最近的盲区：{spots}",
    "coverage_none_blind": "{radius} 内每个网格都有登记群组。",
    "stats": (
        "<b>最近 {days} 天</b>\n"
        "案件：进行中 {open}，已找到 {found}，误报 {false_alarm}，撤回 {withdrawn}\n"
        "找到用时：中位数 {median} 分钟，90% 在 {p90} 分钟内；{fast} 在 30 分钟内找到\n"
        "每案线索数：{sightings}\n"
        "已批准群组：商户 {merchant}，保安 {guard}，志愿者 {volunteer}（待审批 {pending}）\n"
        "已查看的群组：{answered} / 已通知 {alerted}"
    ),
    "export_caption": "{ref}：{what}",
    "export_usage": "用法：<code>/export 编号</code> — 以 CAP 1.2 和 PFIF 1.4 XML 导出案件。",
    "export_nothing": "{ref} 尚无可导出的警报。",
    "chart_outcomes_title": "案件结果",
    "chart_found_title": "找到所用时间",
    "chart_cases": "案件",
    "chart_minutes": "分钟",
    "chart_no_data": "暂无已找到的案件",
    "added_by_non_admin": "只有本群管理员可以添加我。请让管理员添加；我现在退出本群。",
    "added_welcome": "👋 感谢添加。群管理员现在可以发送 <code>/register merchant</code>（或 guard、volunteer）来接收附近的寻人警报。",
    "edited_ignored": "我只读取新消息，不读取修改后的消息。请重新发送您的回答。",
    "blocked_done": "{user_id} 已不能报告案件或提供线索。",
    "unblocked_done": "{user_id} 已恢复报告案件和提供线索。",
    "block_usage": "用法：<code>/block 用户ID</code> 或 <code>/unblock 用户ID</code>",
    "sighting_limit": "谢谢——您已为此案提供了很多线索。如有紧急情况请直接报警。",
    "history_title": "<b>记录</b>",
    "history_line": "{time} {action}{actor}",
    "cmd_report": "报告走失",
    "cmd_mycases": "我的报告",
    "cmd_seen": "提供线索：/seen 编号",
    "cmd_cancel": "退出当前问答",
    "cmd_help": "使用说明",
    "cmd_register": "接收警报：/register merchant|guard|volunteer",
    "cmd_status": "本群登记状态",
    "cmd_unregister": "停止接收警报",
    "cmd_cases": "进行中的案件",
    "cmd_case": "案件详情、覆盖与记录",
    "cmd_verify": "核实案件",
    "cmd_escalate": "立即扩大搜索范围",
    "cmd_close": "结案：/close 编号 found|false_alarm|withdrawn",
    "cmd_groups": "登记群组（/groups pending）",
    "cmd_approve": "批准群组：/approve 群ID",
    "cmd_reject": "拒绝群组：/reject 群ID",
    "cmd_stats": "最近 30 天统计",
    "cmd_export": "以 CAP 和 PFIF 导出案件",
    "cmd_block": "禁止某人报告",
    "cmd_unblock": "恢复某人报告",
}

CATALOGS: dict[str, dict[str, str]] = {"en": EN, "zh": ZH}


def language_of(code: str | None, default: str) -> str:
    """Our language for a Telegram ``language_code`` (``zh-hans`` -> ``zh``), else ``default``."""
    if code:
        base = code.lower().split("-")[0].split("_")[0]
        if base in LANGUAGES:
            return base
    return default


def say(lang: str, key: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` with ``values`` escaped and filled in."""
    template = CATALOGS.get(lang, EN).get(key) or EN[key]
    return template.format(**{name: _escape(value) for name, value in values.items()})


def _escape(value: Any) -> str:
    if isinstance(value, Raw):
        return value
    return html.escape(str(value), quote=False)


def ref(case_id: int) -> str:
    return f"#{case_id}"
